"""The thin OpenMMLab engine layer shared by every task: crash-safe checkpoints, safe loading, exact resume,
CPU autocast.

Importing it registers hooks, the ``atomic_local`` file backend and a metric under new names; it patches
nothing. Safe checkpoint loading is switched on by importing :mod:`backbones.compat`.
"""
from .atomic import AtomicDumpResults, AtomicLocalBackend, write_atomic
from .checkpoint import AtomicCheckpointHook, resume_checkpoint
from .distributed import CPUDistributedDataParallel
from .hooks import PreciseBNStatsHook, RNGStateHook, WeightsConsistencyHook
from .layer_decay import LayerDecayOptimWrapperConstructor
from .optim import CPUAutocastOptimWrapper
from .safe_load import CheckpointReadError, UnsafeCheckpointError, safe_load

__all__ = ["AtomicCheckpointHook", "AtomicDumpResults", "AtomicLocalBackend", "CheckpointReadError",
           "CPUAutocastOptimWrapper", "CPUDistributedDataParallel", "LayerDecayOptimWrapperConstructor",
           "PreciseBNStatsHook", "RNGStateHook", "UnsafeCheckpointError", "WeightsConsistencyHook",
           "resume_checkpoint", "safe_load", "write_atomic"]
