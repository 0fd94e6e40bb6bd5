"""Plain-PyTorch reference of EANet's segmentation network (official ``model_torch.py`` layout).

Written from the official code's semantics (docs/checkpoints.md), with the official checkpoint key
names (``extractor.*``, ``fc0``, ``linu``, ``fc1``, ``fc2``), so an official-layout state dict made here
can be converted with ``tools/convert_checkpoint.py eanet`` and the logits compared.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lab.reference.common import ea_normalise


class RefEAUnit(nn.Module):
    """EANet ``External_attention(c)`` for feature maps (B, c, h, w), memory size 64.

    Args:
        c: Input and output channels.
    """

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 1)
        self.linear_0 = nn.Conv1d(c, 64, 1, bias=False)
        self.linear_1 = nn.Conv1d(64, c, 1, bias=False)
        self.conv2 = nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))
        with torch.no_grad():  # official init: N(0, 2 / (k * out)); linear_1 = linear_0 transposed
            for m in (self.conv1, self.conv2[0], self.linear_0):
                m.weight.normal_(0.0, math.sqrt(2.0 / (math.prod(m.kernel_size) * m.out_channels)))
            self.linear_1.weight.copy_(self.linear_0.weight.permute(1, 0, 2).clone())

    def forward(self, x: Tensor) -> Tensor:
        """Apply the unit; the output has the input's shape."""
        b, c, h, w = x.shape
        attn = ea_normalise(self.linear_0(self.conv1(x).view(b, c, h * w)), token_dim=-1, memory_dim=1)
        return F.relu(self.conv2(self.linear_1(attn).view(b, c, h, w)) + x)


class _Bottleneck(nn.Module):
    """ResNet bottleneck, stride and dilation on the 3x3 conv; ``downsample`` = 1x1 conv stride s + BN."""

    def __init__(self, cin: int, planes: int, stride: int, dilation: int) -> None:
        super().__init__()
        cout = planes * 4
        self.conv1, self.bn1 = nn.Conv2d(cin, planes, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3, self.bn3 = nn.Conv2d(planes, cout, 1, bias=False), nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


def _layer(cin: int, planes: int, dilations: list[int], stride: int) -> nn.Sequential:
    blocks = [_Bottleneck(cin, planes, stride, dilations[0])]
    blocks += [_Bottleneck(planes * 4, planes, 1, d) for d in dilations[1:]]
    return nn.Sequential(*blocks)


class _ConvBNReLU(nn.Module):
    """``conv`` (no bias) -> ``bn`` -> ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


class RefEANet(nn.Module):
    """EANet: dilated ResNet (output stride 8) -> ConvBNReLU(2048, 512) -> EA(512) -> ConvBNReLU(512, 256)
    -> Dropout2d(0.1) -> 1x1 classifier -> bilinear upsampling (align_corners=True) to the input size.

    Args:
        num_classes: classifier outputs (21 for PASCAL VOC).
        blocks: bottlenecks per stage ((3, 4, 23, 3) = ResNet-101).
    """

    def __init__(self, num_classes: int = 21, blocks: tuple[int, int, int, int] = (3, 4, 23, 3)) -> None:
        super().__init__()
        stem = nn.Sequential(nn.Conv2d(3, 64, 3, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                             nn.Conv2d(64, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                             nn.Conv2d(64, 128, 3, 1, 1, bias=False))
        self.extractor = nn.Sequential(
            stem, nn.BatchNorm2d(128), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
            _layer(128, 64, [1] * blocks[0], 1),
            _layer(256, 128, [1] * blocks[1], 2),
            _layer(512, 256, [1] + [2] * (blocks[2] - 1), 1),  # dilation 2, first block 1
            _layer(1024, 512, [2, 8, 16][:blocks[3]], 1))  # dilation 4 with multi-grid (1, 2, 4), first block 2
        self.fc0 = _ConvBNReLU(2048, 512)
        self.linu = RefEAUnit(512)
        self.fc1 = nn.Sequential(_ConvBNReLU(512, 256), nn.Dropout2d(0.1))
        self.fc2 = nn.Conv2d(256, num_classes, 1)

    def forward(self, img: Tensor) -> Tensor:
        """Images (B, 3, H, W) -> logits (B, num_classes, H, W)."""
        x = self.fc2(self.fc1(self.linu(self.fc0(self.extractor(img)))))
        return F.interpolate(x, size=img.shape[-2:], mode="bilinear", align_corners=True)
