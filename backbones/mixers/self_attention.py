"""Multi-head self-attention token mixer (Vaswani et al. 2017; ViT, Dosovitskiy et al. 2021).

``softmax(q k^T * scale) v`` per head, with q, k, v from one ``qkv`` projection and an output
``proj``, computed by :func:`torch.nn.functional.scaled_dot_product_attention`. Subclasses that need
the attention map itself (Re-attention) override :meth:`SelfAttention.transform_attention`; the map is
then formed explicitly, as it is when it is recorded for analysis.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers.dropout import Dropout
from ..registry import register_mixer
from .base import TokenMixer


@register_mixer
class SelfAttention(TokenMixer):
    """Multi-head self-attention, (B, N, C) -> (B, N, C).

    Args:
        dim: channels C.
        num_heads: heads H (C must be divisible by H).
        qkv_bias: bias in the ``qkv`` projection.
        attn_drop: dropout on the attention map.
        proj_drop: dropout after ``proj``.
        qk_scale: logit scale; default (C / H) ** -0.5.
    """

    settings = ("num_heads", "qkv_bias", "attn_drop", "proj_drop")
    records_attention = True

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0, qk_scale: float | None = None) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"{type(self).__name__}: dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.scale = qk_scale or self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.attn_drop = Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = Dropout(proj_drop)

    def transform_attention(self, attn: torch.Tensor) -> torch.Tensor:
        """Hook on the (dropped-out) attention map (B, H, N, N); identity for plain self-attention."""
        return attn

    @property
    def needs_map(self) -> bool:
        """Whether the attention map must be formed explicitly (a transform is set or it is recorded)."""
        return self.record_attention or type(self).transform_attention is not SelfAttention.transform_attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> (B, N, C)."""
        b, n, c = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        if self.needs_map:
            raw = self.attn_drop(((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1))  # (B, H, N, N)
            attn = self.transform_attention(raw)
            self.keep_attention(attn, raw)
            out = attn @ v
        else:
            p = self.attn_drop.p if self.training else 0.0
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=p, scale=self.scale)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(b, n, c)))
