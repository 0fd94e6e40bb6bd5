"""DeepViT-S/L's convolutional stem (Zhou et al. 2021, "DeepViT: Towards Deeper Vision Transformer"): 7x7/2 conv,
BN, ReLU, 3x3 conv, BN, ReLU, then a (patch/2)-strided projection; its inference form folds the BatchNorms."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import MODELS

from backbones.models.deploy.base import DeployModule
from backbones.models.deploy.fold import fold_conv_bn
from backbones.models.stems.patch import conv_out


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
        return tuple(conv_out(s, 7, 2, 3) // self.step for s in img_size)  # type: ignore[return-value]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, 3, H, W) -> tokens (B, h*w, C), grid (h, w)."""
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.proj(self.relu(self.bn2(self.conv2(x))))
        return x.flatten(2).transpose(1, 2), (x.shape[2], x.shape[3])

    def to_deploy(self) -> DeployCNNStem:
        """The inference form: each BatchNorm folded into the convolution before it."""
        return DeployCNNStem(self)


class DeployCNNStem(DeployModule):
    """:class:`CNNStem` with each BatchNorm folded into the convolution before it."""

    def __init__(self, stem: CNNStem) -> None:
        super().__init__()
        self.conv1 = fold_conv_bn(stem.conv1, stem.bn1)
        self.conv2 = fold_conv_bn(stem.conv2, stem.bn2)
        self.proj = stem.proj.requires_grad_(False)
        self.step = stem.step

    def grid_size(self, img_size: tuple[int, int]) -> tuple[int, int]:
        """Token grid for an input of ``img_size`` (H, W)."""
        return tuple(conv_out(s, 7, 2, 3) // self.step for s in img_size)  # type: ignore[return-value]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, 3, H, W) -> tokens (B, h*w, C), grid (h, w)."""
        x = self.proj(F.relu(self.conv2(F.relu(self.conv1(x)))))
        return x.flatten(2).transpose(1, 2), (x.shape[2], x.shape[3])
