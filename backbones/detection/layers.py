"""The 2-d LayerNorm of ViTDet's simple feature pyramid (Li et al. 2022, "Exploring Plain Vision Transformer
Backbones for Object Detection"): a LayerNorm over the channels of every pixel of a (B, C, H, W) map."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import MODELS


@MODELS.register_module()
class LayerNorm2d(nn.Module):
    """LayerNorm over channels at each position, (B, C, H, W) -> (B, C, H, W).

    Equal to ``nn.LayerNorm(C)`` applied to the channels-last map; registered in mmengine's root ``MODELS`` as
    ``LayerNorm2d`` (mmpretrain's own ``LN2d`` keeps its name).

    Args:
        num_channels: channels C.
        eps: added to the variance.
    """

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H, W) contiguous, each pixel's C values normalised then scaled and shifted."""
        if x.dim() != 4 or x.shape[1] != self.weight.shape[0]:
            raise ValueError(f"LayerNorm2d({self.weight.shape[0]}) expects a (B, {self.weight.shape[0]}, H, W) map, "
                             f"got shape {tuple(x.shape)}")
        y = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), self.weight, self.bias, self.eps)
        # NCHW memory, not a channels-last view: mmcv's CPU ops (RoIAlign) read the memory as NCHW whatever the
        # strides, so a view would reach them scrambled (open-mmlab/mmcv#2203)
        return y.permute(0, 3, 1, 2).contiguous()
