"""EANet's External-attention decode head for mmsegmentation (Guo et al. 2021, "Beyond Self-attention:
External Attention using Two Linear Layers for Visual Tasks", Sec. 3.4 and the official
``model_torch.py``).

The head of the EANet segmentation network, as a drop-in mmseg decode head: for the selected feature
map (B, C_in, h, w)

    ConvBNReLU 3x3 (C_in -> ea_channels)              ``in_conv``   (official ``fc0``)
    EA unit with S memory units (B, E, h, w)          ``ea``        (official ``linu``)
    ConvBNReLU 3x3 (ea_channels -> channels)          ``out_conv``  (official ``fc1.0``)
    Dropout2d, 1x1 conv to the classes                ``conv_seg``  (official ``fc1.1``, ``fc2``)

giving logits (B, num_classes, h, w); mmseg upsamples them to the input size (EANet: bilinear with
``align_corners=True``). The EA unit is :class:`ExternalAttention2d` (softmax over
the h*w positions, then L1 over the S units). Registered in mmengine's root ``MODELS`` as ``EAHead``,
so any mmseg config finds it.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.registry import MODELS
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from backbones.engine.checkpoint.pretrained import SafePretrainedMixin
from backbones.models.layers.double_norm import double_normalize


@MODELS.register_module()
class ExternalAttention2d(nn.Module):
    """EANet's EA unit on feature maps, (B, C, H, W) -> (B, C, H, W).

    ``idn = x``; ``x = conv1(x)``; ``A = linear_0(x)`` over the n = H*W positions; softmax over n,
    L1 over the S units; ``x = linear_1(A)``; ``x = conv2(x)`` (1x1 conv + norm); ``relu(x + idn)``.
    At init ``linear_1`` is ``linear_0`` transposed, as in the official code.

    Args:
        channels: C.
        memory: memory units S (64 in EANet).
        norm_cfg: norm after the output conv (mmcv config; BN by default, SyncBN for multi-GPU).
    """

    def __init__(self, channels: int, memory: int = 64, norm_cfg: dict | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 1)
        self.linear_0 = nn.Conv1d(channels, memory, 1, bias=False)
        self.linear_1 = nn.Conv1d(memory, channels, 1, bias=False)
        with torch.no_grad():
            self.linear_1.weight.copy_(self.linear_0.weight.permute(1, 0, 2))
        norm = build_norm_layer(norm_cfg or dict(type="BN"), channels)[1]
        self.conv2 = nn.Sequential(nn.Conv2d(channels, channels, 1, bias=False), norm)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        idn = x
        x = self.conv1(x)
        b, c, h, w = x.shape
        attn = double_normalize(self.linear_0(x.view(b, c, h * w)), token_dim=2, memory_dim=1)  # (B, S, n)
        x = self.linear_1(attn).view(b, c, h, w)
        return self.relu(self.conv2(x) + idn)


@MODELS.register_module()
class EAHead(SafePretrainedMixin, BaseDecodeHead):
    """External-attention decode head (EANet).

    Args:
        ea_channels: width E of the EA unit (512 in EANet).
        memory: memory units S of the EA unit (64 in EANet).
        **kwargs: :class:`mmseg.models.decode_heads.decode_head.BaseDecodeHead` arguments
            (``in_channels``, ``channels`` = 256 in EANet, ``num_classes``, ``in_index``,
            ``dropout_ratio`` = 0.1, ``norm_cfg``, ``align_corners``, ``loss_decode``, ...).
    """

    def __init__(self, ea_channels: int = 512, memory: int = 64, **kwargs) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        conv = dict(kernel_size=3, padding=1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.in_conv = ConvModule(self.in_channels, ea_channels, **conv)
        self.ea = ExternalAttention2d(ea_channels, memory=memory, norm_cfg=self.norm_cfg)
        self.out_conv = ConvModule(ea_channels, self.channels, **conv)

    def forward(self, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Backbone features -> class logits (B, num_classes, h, w) at the selected map's resolution."""
        x = self._transform_inputs(inputs)
        return self.cls_seg(self.out_conv(self.ea(self.in_conv(x))))
