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
import torch.nn.functional as F
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


def soft_split(x: torch.Tensor, kernel: int, stride: int, pad: int, channels_last: bool = False) -> torch.Tensor:
    """T2T's soft split (``nn.Unfold`` then tokens first) as one gather: (B, h*w, C*k*k).

    ``x`` is (B, C, H, W), or (B, H, W, C) with ``channels_last``. Features come in ``nn.Unfold``'s
    (C, kh, kw) order for channels-first input and in (kh, kw, C) order for channels-last input, whose
    copy then moves runs of C contiguous values (:func:`unfold_order` maps one order to the other).
    """
    if channels_last:
        x = F.pad(x, (0, 0, pad, pad, pad, pad)).unfold(1, kernel, stride).unfold(2, kernel, stride)
        x = x.permute(0, 1, 2, 4, 5, 3)  # (B, h, w, kh, kw, C)
    else:
        x = F.pad(x, (pad, pad, pad, pad)).unfold(2, kernel, stride).unfold(3, kernel, stride)
        x = x.permute(0, 2, 3, 1, 4, 5)  # (B, h, w, C, kh, kw)
    b, h, w = x.shape[:3]
    return x.reshape(b, h * w, -1)


def unfold_order(channels: int, kernel: int) -> torch.Tensor:
    """Index ``p`` with ``(kh, kw, C)-ordered features = (C, kh, kw)-ordered features[p]``."""
    return torch.arange(channels * kernel * kernel).view(channels, kernel * kernel).t().reshape(-1)


@MODELS.register_module()
class TokensToTokenStem(nn.Module):
    """T2T stem with EA token layers: unfold(7, 4, 2) -> attention1 -> unfold(3, 2, 1) -> attention2
    -> unfold(3, 2, 1) -> project. The grid is H/16 for inputs divisible by 16.

    The token layers' outputs stay channels-last, so the last two soft splits gather features in
    (kh, kw, C) order and ``attention2`` and ``project`` read their input-side weights through that
    permutation (same function; the parameters keep the official (C, kh, kw) layout).

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
        (k0, _, _), (k1, _, _), (k2, _, _) = self.SPLITS
        self.attention1 = EATokenLayer(in_channels * k0 * k0, token_dim, memory, drop)
        self.attention2 = EATokenLayer(token_dim * k1 * k1, token_dim, memory, drop)
        self.project = nn.Linear(token_dim * k2 * k2, dim)
        self.register_buffer("order1", unfold_order(token_dim, k1), persistent=False)
        self.register_buffer("order2", unfold_order(token_dim, k2), persistent=False)

    def grid_size(self, img_size: tuple[int, int]) -> tuple[int, int]:
        """Token grid for an input of ``img_size`` (H, W)."""
        out = list(img_size)
        for k, s, p in self.SPLITS:
            out = [_conv_out(v, k, s, p) for v in out]
        return out[0], out[1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, 3, H, W) -> tokens (B, h*w, C), grid (h, w)."""
        grids = [tuple(x.shape[2:])]
        for k, s, p in self.SPLITS:
            grids.append(tuple(_conv_out(v, k, s, p) for v in grids[-1]))
        b = x.shape[0]
        t = self.attention1(soft_split(x, *self.SPLITS[0]))  # (B, h1*w1, token_dim)
        t = self.attention2(soft_split(t.view(b, *grids[1], -1), *self.SPLITS[1], channels_last=True),
                            in_order=self.order1)
        t = soft_split(t.view(b, *grids[2], -1), *self.SPLITS[2], channels_last=True)
        return F.linear(t, self.project.weight[:, self.order2], self.project.bias), grids[3]
