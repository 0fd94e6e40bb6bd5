"""ViTDet's simple feature pyramid (Li et al. 2022, "Exploring Plain Vision Transformer Backbones for Object
Detection", section 3): a multi-scale pyramid built from the single last map of a plain backbone.

From the backbone's last (B, C, h, w) map (stride s, 16 for a patch-16 ViT), each scale factor makes one level:

* 4: two stride-2 transposed convolutions, C -> C/2 -> C/4, with LayerNorm2d + GELU between (stride s/4);
* 2: one stride-2 transposed convolution, C -> C/2 (stride s/2);
* 1: the map itself (stride s);
* 0.5: 2x2 max-pooling with stride 2 (stride 2s).

Each level then passes a 1x1 convolution to ``out_channels`` + LayerNorm2d and a 3x3 convolution + LayerNorm2d (no
biases: the norms carry them). ``num_outs`` beyond the scale factors adds levels by max-pooling the last output with
kernel 1 and stride 2 (ViTDet's P6). Registered in mmengine's root ``MODELS``, so an mmdet config finds it as
``neck=dict(type='SimpleFeaturePyramid', ...)``.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.registry import MODELS

from backbones.detection.layers import LayerNorm2d

SCALES = (4.0, 2.0, 1.0, 0.5)


def _rescale(scale: float, dim: int) -> tuple[nn.Module, int]:
    """The module that resizes a (B, dim, h, w) map by ``scale`` and its output channels."""
    if scale == 4.0:
        return nn.Sequential(nn.ConvTranspose2d(dim, dim // 2, 2, stride=2), LayerNorm2d(dim // 2), nn.GELU(),
                             nn.ConvTranspose2d(dim // 2, dim // 4, 2, stride=2)), dim // 4
    if scale == 2.0:
        return nn.ConvTranspose2d(dim, dim // 2, 2, stride=2), dim // 2
    if scale == 1.0:
        return nn.Identity(), dim
    return nn.MaxPool2d(2, stride=2), dim


@MODELS.register_module()
class SimpleFeaturePyramid(BaseModule):
    """ViTDet's simple feature pyramid, (B, C, h, w) -> one (B, out_channels, h * f, w * f) map per factor f.

    Args:
        in_channels: channels C of the backbone map (divisible by 4 when the factor 4 is used).
        out_channels: channels of every output level.
        scale_factors: the levels, a strictly decreasing subset of (4, 2, 1, 0.5) (ViTDet: all four).
        num_outs: number of outputs; those beyond ``len(scale_factors)`` are max-pooled (kernel 1, stride 2) from
            the previous output (ViTDet's P6: ``num_outs=5``).
        in_index: which entry of the backbone's output tuple to use (the last by default).
        init_cfg: mmengine initialisation config (default: PyTorch's default initialisation).

    Raises:
        ValueError: a factor outside (4, 2, 1, 0.5), factors not strictly decreasing, ``num_outs`` smaller than the
            number of factors, or ``in_channels`` not divisible by what the factors need.
    """

    def __init__(self, in_channels: int, out_channels: int, scale_factors: Sequence[float] = SCALES,
                 num_outs: int | None = None, in_index: int = -1, init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        factors = tuple(float(f) for f in scale_factors)
        if not factors or any(f not in SCALES for f in factors) or list(factors) != sorted(set(factors), reverse=True):
            raise ValueError(f"SimpleFeaturePyramid: scale_factors must be a strictly decreasing subset of {SCALES}, "
                             f"got {tuple(scale_factors)}")
        need = 4 if 4.0 in factors else 2 if 2.0 in factors else 1
        if in_channels % need:
            raise ValueError(f"SimpleFeaturePyramid: in_channels {in_channels} must be divisible by {need} for the "
                             f"scale factors {factors}")
        self.num_outs = len(factors) if num_outs is None else num_outs
        if self.num_outs < len(factors):
            raise ValueError(f"SimpleFeaturePyramid: num_outs {num_outs} is smaller than the {len(factors)} scale "
                             f"factors {factors}")
        self.scale_factors, self.in_index = factors, in_index
        self.rescale, self.lateral, self.output = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for f in factors:
            module, dim = _rescale(f, in_channels)
            self.rescale.append(module)
            self.lateral.append(nn.Sequential(nn.Conv2d(dim, out_channels, 1, bias=False), LayerNorm2d(out_channels)))
            self.output.append(nn.Sequential(nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
                                             LayerNorm2d(out_channels)))

    def forward(self, inputs: Sequence[torch.Tensor] | torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The backbone's outputs (a tuple of (B, C, h, w) maps, or one map) -> ``num_outs`` maps, finest first:
        (B, out_channels, h * f, w * f) for each factor f, then the pooled extra levels (halving each time).

        Every map is contiguous (NCHW memory, as LayerNorm2d returns it and max-pooling keeps it), which mmcv's CPU
        RoIAlign needs in a two-stage head (open-mmlab/mmcv#2203)."""
        x = inputs if isinstance(inputs, torch.Tensor) else inputs[self.in_index]
        outs = [out(lat(rescale(x))) for rescale, lat, out in zip(self.rescale, self.lateral, self.output)]
        while len(outs) < self.num_outs:
            outs.append(F.max_pool2d(outs[-1], kernel_size=1, stride=2))
        return tuple(outs)
