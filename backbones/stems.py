"""Stems: images (B, 3, H, W) -> tokens (B, h*w, C) and their grid (h, w).

* :class:`PatchStem` - ViT's non-overlapping patch convolution (Dosovitskiy et al. 2021).
* :class:`CNNStem` - DeepViT-S/L's convolutional stem (Zhou et al. 2021): 7x7/2 conv, BN, ReLU,
  3x3 conv, BN, ReLU, then a (patch/2)-strided projection.
* :class:`TokensToTokenStem` - T2T-ViT's tokens-to-token stem (Yuan et al. 2021) with External
  attention token layers, as EAMLP uses it (Guo et al. 2021): three soft splits (unfold 7/4, 3/2,
  3/2) with an EA token layer after the first two, then a linear projection.

All stems are registered in mmengine's root ``MODELS`` and expose ``grid_size(img_size)``.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from mmengine.registry import MODELS

from .mixers.external_attention import EATokenLayer


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _conv_out(size: int, kernel: int, stride: int, pad: int) -> int:
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


@MODELS.register_module()
class CNNStem(nn.Module):
    """DeepViT's CNN stem: conv1 7x7/2 (no bias), bn1, ReLU, conv2 3x3 (no bias), bn2, ReLU, proj."""

    def __init__(self, dim: int, in_channels: int = 3, patch_size: int = 16, width: int = 64) -> None:
        super().__init__()
        self.step = patch_size // 2
        self.conv1 = nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.proj = nn.Conv2d(width, dim, self.step, stride=self.step)

    def grid_size(self, img_size: tuple[int, int]) -> tuple[int, int]:
        """Token grid for an input of ``img_size`` (H, W)."""
        return tuple(_conv_out(s, 7, 2, 3) // self.step for s in img_size)  # type: ignore[return-value]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, 3, H, W) -> tokens (B, h*w, C), grid (h, w)."""
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.proj(self.relu(self.bn2(self.conv2(x))))
        return x.flatten(2).transpose(1, 2), (x.shape[2], x.shape[3])


@MODELS.register_module()
class TokensToTokenStem(nn.Module):
    """T2T stem with EA token layers: unfold(7, 4, 2) -> attention1 -> unfold(3, 2, 1) -> attention2
    -> unfold(3, 2, 1) -> project. The grid is H/16 for inputs divisible by 16.

    Args:
        dim: output channels C.
        in_channels: image channels.
        token_dim: width of the token layers (64 in T2T-ViT / EAMLP).
        memory: external memory size of the token layers (128 in EAMLP).
        drop: dropout inside the token layers (0.1 in EAMLP).
    """

    SPLITS = ((7, 4, 2), (3, 2, 1), (3, 2, 1))

    def __init__(self, dim: int, in_channels: int = 3, token_dim: int = 64, memory: int = 128,
                 drop: float = 0.1) -> None:
        super().__init__()
        (k0, s0, p0), (k1, s1, p1), (k2, s2, p2) = self.SPLITS
        self.soft_split0 = nn.Unfold(k0, stride=s0, padding=p0)
        self.soft_split1 = nn.Unfold(k1, stride=s1, padding=p1)
        self.soft_split2 = nn.Unfold(k2, stride=s2, padding=p2)
        self.attention1 = EATokenLayer(in_channels * k0 * k0, token_dim, memory, drop)
        self.attention2 = EATokenLayer(token_dim * k1 * k1, token_dim, memory, drop)
        self.project = nn.Linear(token_dim * k2 * k2, dim)

    def grid_size(self, img_size: tuple[int, int]) -> tuple[int, int]:
        """Token grid for an input of ``img_size`` (H, W)."""
        out = list(img_size)
        for k, s, p in self.SPLITS:
            out = [_conv_out(v, k, s, p) for v in out]
        return out[0], out[1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, 3, H, W) -> tokens (B, h*w, C), grid (h, w)."""
        grid = list(x.shape[2:])
        for i, (split, layer) in enumerate(((self.soft_split0, self.attention1), (self.soft_split1, self.attention2))):
            k, s, p = self.SPLITS[i]
            grid = [_conv_out(v, k, s, p) for v in grid]
            t = layer(split(x).transpose(1, 2))  # (B, h*w, token_dim)
            x = t.transpose(1, 2).reshape(t.shape[0], t.shape[2], grid[0], grid[1])
        k, s, p = self.SPLITS[2]
        grid = [_conv_out(v, k, s, p) for v in grid]
        return self.project(self.soft_split2(x).transpose(1, 2)), (grid[0], grid[1])
