"""Data-parallel training on CPU-only machines.

mmengine's Runner passes ``device_ids=[LOCAL_RANK]`` to its ``MMDistributedDataParallel`` wrapper,
which torch rejects for a module on the CPU. This wrapper drops ``device_ids`` for CPU modules;
tools/train.py selects it (and a gloo process group) when no GPU is present.
:class:`CPUSeparateDistributedDataParallel` does the same for mmengine's
``MMSeparateDistributedDataParallel`` (each sub-network wrapped on its own, the model's ``train_step`` driving
the step: the GAN pattern), which a config names in its ``model_wrapper_cfg``.
"""
from __future__ import annotations

import torch.nn as nn
from mmengine.model import MMDistributedDataParallel, MMSeparateDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that accepts a CPU module (``device_ids`` is ignored there)."""

    def __init__(self, module: nn.Module, device_ids: list[int] | None = None, **kwargs) -> None:  # noqa: ANN003
        on_cpu = all(p.device.type == "cpu" for p in module.parameters())
        super().__init__(module=module, device_ids=None if on_cpu else device_ids, **kwargs)


@MODEL_WRAPPERS.register_module()
class CPUSeparateDistributedDataParallel(MMSeparateDistributedDataParallel):
    """``MMSeparateDistributedDataParallel`` that accepts a CPU module (``device_ids`` is ignored there)."""

    def __init__(self, module: nn.Module, device_ids: list[int] | None = None, **kwargs) -> None:  # noqa: ANN003
        on_cpu = all(p.device.type == "cpu" for p in module.parameters())
        super().__init__(module=module, **kwargs, **({} if on_cpu else dict(device_ids=device_ids)))
