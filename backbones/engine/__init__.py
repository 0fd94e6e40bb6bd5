"""The thin OpenMMLab engine layer shared by every task: atomic writes, exact resume, CPU autocast."""
from .atomic import install_atomic_writes
from .distributed import CPUDistributedDataParallel
from .hooks import PreciseBNStatsHook, RNGStateHook, WeightsConsistencyHook
from .layer_decay import LayerDecayOptimWrapperConstructor
from .optim import CPUAutocastOptimWrapper

install_atomic_writes()

__all__ = ["install_atomic_writes", "PreciseBNStatsHook", "RNGStateHook", "WeightsConsistencyHook",
           "CPUAutocastOptimWrapper", "CPUDistributedDataParallel",
           "LayerDecayOptimWrapperConstructor"]
