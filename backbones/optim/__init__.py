"""Optimizer wrappers and constructors: layer-wise learning-rate decay, bfloat16 autocast on the CPU."""
from .amp import CPUAutocastOptimWrapper
from .layer_decay import LayerDecayOptimWrapperConstructor

__all__ = ["CPUAutocastOptimWrapper", "LayerDecayOptimWrapperConstructor"]
