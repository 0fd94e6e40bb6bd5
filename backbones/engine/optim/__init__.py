"""Optimizer wrappers and constructors: layer-wise learning-rate decay, bfloat16 autocast on the CPU."""
from backbones.engine.optim.amp import CPUAutocastOptimWrapper
from backbones.engine.optim.layer_decay import LayerDecayOptimWrapperConstructor

__all__ = ["CPUAutocastOptimWrapper", "LayerDecayOptimWrapperConstructor"]
