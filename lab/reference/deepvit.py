"""DeepViT as the official code computes it (Zhou et al. 2021): re-attention through a 1x1 convolution
over the heads and a BatchNorm2d, the (B, H, N, N) maps materialised; official key names."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lab.reference.common import Mlp, PatchEmbed, classify, vit_init_


class _ReAttention(nn.Module):
    """Multi-head self-attention with optional re-attention (head mixing + BatchNorm)."""

    def __init__(self, dim: int, heads: int, re_attend: bool, transform_scale: bool) -> None:
        super().__init__()
        self.heads, self.scale, self.re_attend = heads, (dim // heads) ** -0.5, re_attend
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        if re_attend:
            self.reatten_matrix = nn.Conv2d(heads, heads, 1)
            self.var_norm = nn.BatchNorm2d(heads)
            self.reatten_scale = self.scale if transform_scale else 1.0
        self.proj = nn.Linear(dim, dim)
        self.attn_drop, self.proj_drop = nn.Dropout(0.0), nn.Dropout(0.0)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = self.attn_drop((q @ k.transpose(-2, -1) * self.scale).softmax(dim=-1))
        if self.re_attend:  # mix the H maps, normalise per head; no softmax afterwards
            attn = self.var_norm(self.reatten_matrix(attn)) * self.reatten_scale
        return self.proj_drop(self.proj((attn @ v).transpose(1, 2).reshape(b, n, c)))


class _DeepViTBlock(nn.Module):
    """Pre-norm block with DeepViT's scale adjustment ``a``: ``x + f(LN(a x)) / a``."""

    def __init__(self, dim: int, heads: int, re_attend: bool, transform_scale: bool, adjust: float) -> None:
        super().__init__()
        self.adjust = adjust
        self.norm1, self.attn = nn.LayerNorm(dim, eps=1e-6), _ReAttention(dim, heads, re_attend, transform_scale)
        self.norm2, self.mlp = nn.LayerNorm(dim, eps=1e-6), Mlp(dim, dim * 3)

    def forward(self, x: Tensor) -> Tensor:
        a = self.adjust
        x = x + self.attn(self.norm1(x * a)) / a
        return x + self.mlp(self.norm2(x * a)) / a


class _CNNStem(nn.Module):
    """DeepViT-S/L stem: 7x7/2 conv, BN, ReLU, 3x3 conv, BN, ReLU, 8x8/8 projection."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64)
        self.conv2, self.bn2 = nn.Conv2d(64, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64)
        self.proj = nn.Conv2d(64, dim, 8, 8)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        return self.proj(F.relu(self.bn2(self.conv2(x))))


class RefDeepViT(nn.Module):
    """DeepViT classifier: a timm-style ViT whose last blocks use re-attention.

    Args:
        dim: Embedding width C.
        depth: Number of blocks.
        num_reatten: How many of the last blocks re-attend (``depth`` means all).
        cnn_stem: Conv stem ``patch_embed.{conv1,bn1,conv2,bn2,proj}`` instead of the
            16x16 patch convolution ``patch_embed.proj``.
        transform_scale: Scale re-attention maps by head_dim**-0.5 (else by 1).
        scale_adjustment: The factor ``a`` of ``x + f(LN(a x)) / a``.
        heads: Attention heads H (MLP ratio 3, qkv bias on, LN eps 1e-6).
        num_classes: Classifier outputs.
        img_size: Input side; N = 1 + (img_size // 16)**2.
    """

    def __init__(self, dim: int, depth: int, num_reatten: int, cnn_stem: bool = False,
                 transform_scale: bool = False, scale_adjustment: float = 1.0, heads: int = 12,
                 num_classes: int = 1000, img_size: int = 224) -> None:
        super().__init__()
        self.patch_embed = _CNNStem(dim) if cnn_stem else PatchEmbed(dim, 16)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + (img_size // 16) ** 2, dim))
        self.blocks = nn.ModuleList(
            _DeepViTBlock(dim, heads, i >= depth - num_reatten, transform_scale, scale_adjustment)
            for i in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)
        vit_init_(self, self.cls_token, self.pos_embed)

    def forward(self, x: Tensor) -> Tensor:
        """Return logits (B, num_classes) for images (B, 3, H, W)."""
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        return classify(self, torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed)


def ref_deepvit(name: str, num_classes: int = 1000) -> RefDeepViT:
    """Build a DeepViT reference model: ``'16b'``, ``'24b'``, ``'32b'``, ``'s'`` or ``'l'``."""
    cfgs = {  # dim, depth, re-attending blocks, cnn stem, transform_scale, a
        "16b": (384, 16, 16, False, False, 1.0), "24b": (384, 24, 24, False, False, 1.0),
        "32b": (384, 32, 32, False, False, 1.0), "s": (396, 16, 5, True, True, 0.5),
        "l": (420, 32, 12, True, False, 0.5),
    }
    return RefDeepViT(*cfgs[name], num_classes=num_classes)
