"""Layer-wise learning-rate decay from the backbone's ``get_layer_depth``, for mmseg, mmpretrain and mmengine configs.

BEiT (Bao et al. 2022, "BEiT: BERT Pre-Training of Image Transformers") and MAE fine-tune with layer-wise
decay: a parameter at depth ``d`` of ``L`` gets ``lr = base_lr * rate ** (L - d - 1)``, so the head and the
last block learn at the base rate and each earlier block at ``rate`` times the next one. The depth comes
from the backbone (mmpretrain's contract ``get_layer_depth(param_name, prefix) -> (d, L)``), so any backbone
that defines it works; mmseg's own ``LayerDecayOptimizerConstructor`` accepts only backbones whose class
name contains BEiT, MAE or ConvNeXt.

Registered in mmengine's root ``OPTIM_WRAPPER_CONSTRUCTORS``, so mmseg (``default_scope='mmseg'``),
mmpretrain and plain mmengine configs all find it::

    optim_wrapper = dict(
        type='OptimWrapper',
        optimizer=dict(type='AdamW', lr=3e-5, weight_decay=0.05),
        constructor='LayerDecayOptimWrapperConstructor',
        paramwise_cfg=dict(layer_decay_rate=0.9, flat_decay_mult=0.0,
                           custom_keys={'pos_embed': dict(decay_mult=0.0), 'cls_token': dict(decay_mult=0.0)}))
"""
from __future__ import annotations

from collections.abc import Callable

import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS


def layer_depth_function(model: nn.Module) -> Callable[[str], tuple[int, int]]:
    """``name -> (depth, num_layers)`` for the parameters of ``model`` (named from the model's root).

    The model's own ``get_layer_depth(name)`` (mmpretrain's classifiers) if it has one, else its backbone's
    ``get_layer_depth(name, 'backbone.')`` (mmseg's ``EncoderDecoder``, the point-cloud model).

    Raises:
        NotImplementedError: neither the model nor its backbone defines ``get_layer_depth``.
    """
    if hasattr(model, "get_layer_depth"):
        return model.get_layer_depth
    backbone = getattr(model, "backbone", None)
    if backbone is not None and hasattr(backbone, "get_layer_depth"):
        return lambda name: backbone.get_layer_depth(name, "backbone.")
    raise NotImplementedError(f"layer-wise lr decay needs get_layer_depth(param_name, prefix) on the model "
                              f"{type(model).__name__} or its backbone {type(backbone).__name__}")


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor plus layer-wise lr decay by ``get_layer_depth``.

    Args:
        optim_wrapper_cfg: the ``optim_wrapper`` config (its optimizer needs ``lr``).
        paramwise_cfg: ``layer_decay_rate`` (0 < rate <= 1, required), optionally ``num_layers`` (mmseg's
            key: the backbone's block count, checked against the backbone), and every option of
            :class:`mmengine.optim.DefaultOptimWrapperConstructor` (``custom_keys``, ``flat_decay_mult``, ...),
            applied first; the depth scale multiplies the resulting lr.

    Every parameter group gets ``lr``, ``lr_scale``, ``layer_id`` and ``param_name`` (as mmpretrain's
    constructor records them).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        rate = paramwise_cfg.get("layer_decay_rate")
        if rate is None:
            raise KeyError("LayerDecayOptimWrapperConstructor: paramwise_cfg needs layer_decay_rate (e.g. 0.9)")
        if not 0 < rate <= 1:
            raise ValueError(f"LayerDecayOptimWrapperConstructor: layer_decay_rate must be in (0, 1], got {rate}")
        self.layer_decay_rate = float(rate)
        self.num_layers = paramwise_cfg.pop("num_layers", None)
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        if self.base_lr is None:
            raise KeyError("LayerDecayOptimWrapperConstructor: optim_wrapper.optimizer needs lr")

    def add_params(self, params: list[dict], module: nn.Module, prefix: str = "",
                   is_dcn_module: int | float | None = None) -> None:
        """The default per-parameter groups, then (at the model's root) each lr scaled by its depth."""
        super().add_params(params, module, prefix, is_dcn_module)
        if prefix:  # a child module inside the default recursion; the root call scales every group
            return
        depth_of = layer_depth_function(module)
        names = {id(p): n for n, p in module.named_parameters()}
        scales: dict[int, float] = {}
        for group in params:
            name = names[id(group["params"][0])]
            depth, num_layers = depth_of(name)
            if self.num_layers is not None and num_layers != self.num_layers + 2:
                raise ValueError(f"LayerDecayOptimWrapperConstructor: paramwise_cfg.num_layers={self.num_layers} "
                                 f"but the backbone has {num_layers - 2} layers")
            scale = self.layer_decay_rate ** (num_layers - depth - 1)
            group.update(lr=group.get("lr", self.base_lr) * scale, lr_scale=scale, layer_id=depth, param_name=name)
            scales[depth] = scale
        MMLogger.get_current_instance().info(
            f"layer-wise lr decay {self.layer_decay_rate}: lr scale by depth "
            + ", ".join(f"{d}: {s:.4g}" for d, s in sorted(scales.items())))
