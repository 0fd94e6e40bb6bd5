"""Multi-head self-attention token mixer (Vaswani et al. 2017; ViT, Dosovitskiy et al. 2021).

``softmax(q k^T * scale) v`` per head, with q, k, v from one ``qkv`` projection and an output
``proj``, computed by :func:`torch.nn.functional.scaled_dot_product_attention` (fused kernels).
Subclasses that need the attention map itself (Re-attention, analysis tools) override
:meth:`SelfAttention.transform_attention`; the map is then formed explicitly.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers import fused, workspace
from ..layers.dropout import Dropout
from ..registry import register_mixer


@register_mixer
class SelfAttention(nn.Module):
    """Multi-head self-attention, (B, N, C) -> (B, N, C).

    Args:
        dim: channels C.
        num_heads: heads H (C must be divisible by H).
        qkv_bias: bias in the ``qkv`` projection.
        attn_drop: dropout on the attention map.
        proj_drop: dropout after ``proj``.
        qk_scale: logit scale; default (C / H) ** -0.5.

    Attributes:
        record_attention: when True, the last attention map (B, H, N, N) is kept in ``attention``.
    """

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
        self.record_attention = False
        self.attention: torch.Tensor | None = None

    def transform_attention(self, attn: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """Hook on the (dropped-out) attention map (B, H, N, N); identity for plain self-attention.

        ``out`` (inference only): a (B, H, N, N) buffer a transform may write its result into.
        """
        return attn

    @property
    def needs_map(self) -> bool:
        """Whether the attention map must be formed explicitly (a hook is set or it is recorded)."""
        return self.record_attention or type(self).transform_attention is not SelfAttention.transform_attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> (B, N, C)."""
        return self.proj_drop(self.proj(self._attend(self.qkv(x))))

    def forward_residual(self, x: torch.Tensor, norm: nn.Module) -> torch.Tensor:
        """``x + self(norm(x))`` at inference: norm folded into ``qkv``, residual fused into ``proj``."""
        x = x.contiguous()
        w, b = fused.fold_norm(self, norm, self.qkv)
        out = self._attend(fused.linear(fused.normalize(norm, x), w, b))
        return fused.linear(out, self.proj.weight, self.proj.bias, residual=x)

    def _attend(self, qkv: torch.Tensor) -> torch.Tensor:
        """qkv (B, N, 3C) -> per-head attention output, heads merged back: (B, N, C)."""
        b, n, c3 = qkv.shape
        q, k, v = qkv.view(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        if self.needs_map and fused.can_fuse(self, qkv):
            out = self._attend_inference(q, k, v)
        elif self.needs_map:
            attn = self.attn_drop(((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1))
            attn = self.transform_attention(attn)
            if self.record_attention:
                self.attention = attn.detach()
            out = attn @ v
        else:
            p = self.attn_drop.p if self.training else 0.0
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=p, scale=self.scale)
        return out.transpose(1, 2).reshape(b, n, c3 // 3)

    def _attend_inference(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """The explicit map at inference, in two reused buffers (:mod:`backbones.layers.workspace`).

        q, k, v (B, H, N, d) -> (B, H, N, d); same operations as the training path.
        """
        b, h, n, d = q.shape
        logits = workspace.buffer("attention.logits", (b * h, n, n), q)
        probs = workspace.buffer("attention.probs", (b * h, n, n), q)
        torch.bmm((q * self.scale).reshape(b * h, n, d), k.reshape(b * h, n, d).transpose(1, 2), out=logits)
        torch.softmax(logits, dim=-1, out=probs)
        attn = self.transform_attention(probs.view(b, h, n, n), out=logits.view(b, h, n, n))
        if self.record_attention:
            self.attention = attn.clone()
        return attn @ v
