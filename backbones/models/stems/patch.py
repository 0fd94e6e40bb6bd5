"""ViT's patch stem (Dosovitskiy et al. 2021): a non-overlapping patch convolution, (B, 3, H, W) -> (B, h*w, C)."""
from __future__ import annotations

import torch
import torch.nn as nn
from mmengine.registry import MODELS


def conv_out(size: int, kernel: int, stride: int, pad: int) -> int:
    """Output length of a convolution (or unfold) along one axis."""
    return (size + 2 * pad - kernel) // stride + 1


@MODELS.register_module()
class PatchStem(nn.Module):
    """Patch convolution ``proj`` = Conv2d(in_channels, dim, patch, stride=patch)."""

    def __init__(self, dim: int, in_channels: int = 3, patch_size: int = 16) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_channels, dim, patch_size, stride=patch_size)

    def grid_size(self, img_size: tuple[int, int]) -> tuple[int, int]:
        """Patch grid for an input of ``img_size`` (H, W)."""
        return img_size[0] // self.patch_size, img_size[1] // self.patch_size

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, 3, H, W) -> tokens (B, h*w, C), grid (h, w)."""
        x = self.proj(x)
        return x.flatten(2).transpose(1, 2), (x.shape[2], x.shape[3])
