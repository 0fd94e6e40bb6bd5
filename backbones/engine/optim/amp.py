"""``--amp`` on a machine without a GPU: bfloat16 autocast on the CPU.

mmengine's ``AmpOptimWrapper`` asserts a CUDA/NPU/MLU device. On the CPU, mixed precision means
``torch.autocast('cpu', dtype=torch.bfloat16)`` (no loss scaling needed for bfloat16).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward context is CPU autocast to ``dtype`` (bfloat16 by default)."""

    def __init__(self, *args, dtype: str = "bfloat16", **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: torch.nn.Module):  # noqa: ANN201
        with super().optim_context(model), torch.autocast("cpu", dtype=self.cast_dtype):
            yield
