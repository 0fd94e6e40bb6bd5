"""Feed-forward over patches as the official ``LinearVisionTransformer`` computes it (Melas-Kyriazi 2021).

The straightforward baseline of the benchmark and the source model of the parity tests: official key
names (``pos_encoding.*``, ``blocks.i.{norm1, mlp1, norm2, mlp2}``), the token MLP applied on the
transposed (B, C, N) view as the official code does.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lab.reference.common import Mlp, PatchEmbed, classify, vit_init_


class _FFBlock(nn.Module):
    """Channel MLP, then a token MLP over the N axis (class token included)."""

    def __init__(self, dim: int, num_tokens: int) -> None:
        super().__init__()
        self.norm1, self.mlp1 = nn.LayerNorm(dim, eps=1e-6), Mlp(dim, dim * 4)
        self.norm2, self.mlp2 = nn.LayerNorm(num_tokens, eps=1e-6), Mlp(num_tokens, int(num_tokens * 4))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.mlp1(self.norm1(x))
        t = x.transpose(1, 2)
        return (t + self.mlp2(self.norm2(t))).transpose(1, 2)


class RefFFViT(nn.Module):
    """FF-only vision transformer (official ``LinearVisionTransformer``).

    Args:
        dim: Embedding width C.
        depth: Number of FF blocks.
        patch: Patch size of the convolutional stem.
        num_classes: Classifier outputs.
        img_size: Fixes the token count N = 1 + (img_size // patch)**2 of the token MLPs
            (the official code always uses 224). The 14x14 position grid is resized
            (bilinear, align_corners=False) whenever the patch grid differs.
    """

    def __init__(self, dim: int, depth: int, patch: int, num_classes: int = 1000, img_size: int = 224) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed(dim, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_encoding = nn.Module()  # official LearnedPositionalEncoding: parameters only
        self.pos_encoding.pos_embed = nn.Parameter(torch.zeros(1, dim, 14, 14))
        self.pos_encoding.cls_pos_embed = nn.Parameter(torch.zeros(1, 1, dim))
        self.blocks = nn.ModuleList(_FFBlock(dim, 1 + (img_size // patch) ** 2) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)
        vit_init_(self, self.cls_token, self.pos_encoding.pos_embed, self.pos_encoding.cls_pos_embed)

    def forward(self, x: Tensor) -> Tensor:
        """Return logits (B, num_classes) for images (B, 3, H, W)."""
        x = self.patch_embed(x)
        pos = self.pos_encoding.pos_embed
        if pos.shape[-2:] != x.shape[-2:]:
            pos = F.interpolate(pos, size=x.shape[-2:], mode="bilinear", align_corners=False)
        x = (x + pos).flatten(2).transpose(1, 2)
        cls = (self.cls_token + self.pos_encoding.cls_pos_embed).expand(x.shape[0], -1, -1)
        return classify(self, torch.cat([cls, x], dim=1))


def ref_ff(name: str, num_classes: int = 1000) -> RefFFViT:
    """Build an FF-only reference model: ``'tiny'``, ``'base'`` or ``'large'``."""
    dim, depth, patch = {"tiny": (192, 12, 16), "base": (768, 12, 16), "large": (1024, 24, 32)}[name]
    return RefFFViT(dim, depth, patch, num_classes=num_classes)
