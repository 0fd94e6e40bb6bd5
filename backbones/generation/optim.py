"""One optimizer wrapper per sub-network, as an ``OptimWrapperDict`` (mmengine's multi-optimizer recipe).

mmengine's Runner builds an ``OptimWrapperDict`` from a config only through a constructor. This one builds, for
every key of the ``optim_wrapper`` config other than ``constructor``, an optimizer wrapper over the parameters
of the model's sub-module of that name, with mmengine's ``DefaultOptimWrapperConstructor`` (so ``paramwise_cfg``
works per wrapper)::

    optim_wrapper = dict(
        constructor='GANOptimWrapperConstructor',
        generator=dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.0, 0.9))),
        discriminator=dict(optimizer=dict(type='Adam', lr=4e-4, betas=(0.0, 0.9))))
"""
from __future__ import annotations

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class GANOptimWrapperConstructor:
    """Build ``OptimWrapperDict(name=wrapper over model.<name>)`` for each ``name`` of the config.

    Args:
        optim_wrapper_cfg: ``{name: optimizer wrapper config}``, each with an ``optimizer`` (and optionally
            ``type``, ``paramwise_cfg``, ...).
        paramwise_cfg: must be None: give it per wrapper.

    Raises:
        ValueError: a top-level ``paramwise_cfg``, or a wrapper config without ``optimizer``.
        AttributeError: (when called) the model has no sub-module of a configured name.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        if paramwise_cfg is not None:
            raise ValueError("GANOptimWrapperConstructor: give paramwise_cfg inside each wrapper's config")
        for name, cfg in optim_wrapper_cfg.items():
            if not isinstance(cfg, dict) or "optimizer" not in cfg:
                raise ValueError(f"GANOptimWrapperConstructor: optim_wrapper.{name} must be a dict with 'optimizer'")
        self.configs = {name: dict(cfg) for name, cfg in optim_wrapper_cfg.items()}

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        """The wrappers over ``model``'s sub-modules (``model.module`` for a wrapped model)."""
        model = getattr(model, "module", model)
        wrappers = {}
        for name, cfg in self.configs.items():
            if not isinstance(getattr(model, name, None), nn.Module):
                raise AttributeError(f"GANOptimWrapperConstructor: the model has no sub-module {name!r}")
            cfg = dict(cfg)
            paramwise = cfg.pop("paramwise_cfg", None)
            wrappers[name] = DefaultOptimWrapperConstructor(cfg, paramwise)(getattr(model, name))
        return OptimWrapperDict(**wrappers)
