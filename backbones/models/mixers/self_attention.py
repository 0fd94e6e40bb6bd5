"""Multi-head self-attention token mixer (Vaswani et al. 2017; ViT, Dosovitskiy et al. 2021).

``softmax(q k^T * scale) v`` per head, with q, k, v from one ``qkv`` projection and an output
``proj``, computed by :func:`torch.nn.functional.scaled_dot_product_attention`. Subclasses that need
the attention map itself (Re-attention) override :meth:`SelfAttention.transform_attention`; the map is
then formed explicitly (:meth:`SelfAttention.attention_maps` forms it for analysis).

The inference form (:class:`AttentionBranch`) folds the block's LayerNorm affine and the logit scale into
``qkv`` and DeepViT's scale adjustment into ``proj``; a subclass that mixes heads gives its mixing as one
H x H matrix and bias (:meth:`SelfAttention.folded_head_mix`).

Window attention (Swin, Liu et al. 2021; ViTDet, Li et al. 2022): with ``window_size=s`` each token attends only to
the tokens of its s x s window of the patch grid (the grid, passed as ``forward(x, grid)``, is padded at the bottom
and right to multiples of s; padded keys are masked and padded values zeroed, so a window's result equals attention
over its real tokens alone; :mod:`backbones.models.layers.windows`). ``window_size=None`` is global attention. The
inference form runs the same windows.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from backbones.models.deploy.base import DeployModule, bare_norm, folded_or_plain, frozen_linear
from backbones.models.deploy.fold import fold_affine, folds_norm, layer_norm_parts
from backbones.models.layers.dropout import Dropout
from backbones.models.layers.windows import Windows
from backbones.models.mixers.base import TokenMixer
from backbones.models.mixers.registry import register_mixer


def split_heads(t: torch.Tensor, parts: int, heads: int) -> tuple[torch.Tensor, ...]:
    """(B, N, parts * H * d) -> ``parts`` tensors (B, H, N, d) (views, no copy)."""
    b, n, _ = t.shape
    return t.view(b, n, parts, heads, -1).permute(2, 0, 3, 1, 4).unbind(0)


def merge_heads(t: torch.Tensor) -> torch.Tensor:
    """(B, H, N, d) -> (B, N, H * d)."""
    b, h, n, d = t.shape
    return t.transpose(1, 2).reshape(b, n, h * d)


def masked_values(v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Values (B, H, N, d) with the rows of masked keys (additive mask (B, 1, 1, N), -inf) set to 0: a map
    transform that leaves weight on masked keys (a head-mixing bias) then gives them none."""
    return v if mask is None else v * (mask == 0).transpose(-2, -1)


def windows_of(module: nn.Module, grid: tuple[int, int] | None) -> Windows:
    """The window partition of a windowed attention module (``module.window_size``) for ``grid``.

    Raises:
        ValueError: no grid was given.
    """
    if grid is None:
        raise ValueError(f"{type(module).__name__}(window_size={module.window_size}) needs the patch grid: call it "
                         f"as forward(x, grid) (the block passes it)")
    return Windows(grid, module.window_size)


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
        window_size: side s of the attention windows on the patch grid (ViTDet); None: global attention. Windows
            take patch tokens only (no class token).
    """

    settings = ("num_heads", "qkv_bias", "attn_drop", "proj_drop", "window_size")
    wants_grid = True  # the windows are cut from the patch grid

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0, qk_scale: float | None = None, window_size: int | None = None) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"{type(self).__name__}: dim {dim} is not divisible by num_heads {num_heads}")
        if window_size is not None and (not isinstance(window_size, int) or window_size < 1):
            raise ValueError(f"{type(self).__name__}: window_size must be None (global) or a positive int, got "
                             f"{window_size!r}")
        self.window_size = window_size
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.scale = qk_scale or self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.attn_drop = Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = Dropout(proj_drop)

    def transform_attention(self, attn: torch.Tensor) -> torch.Tensor:
        """Hook on the (dropped-out) attention map (B, H, N, N); identity for plain self-attention."""
        return attn

    def _maps(self, q: torch.Tensor, k: torch.Tensor,
              mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """q, k (B, H, N, d) and an additive key mask (B, 1, 1, N) -> (the transformed map, the dropped-out softmax
        map), (B, H, N, N) each."""
        logits = (q * self.scale) @ k.transpose(-2, -1)
        raw = self.attn_drop((logits if mask is None else logits + mask).softmax(dim=-1))
        return self.transform_attention(raw), raw

    def attention_maps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The maps of ``forward(x)``: (the map that weights v, the softmax map before the transform), (B, H, N, N).

        Raises:
            ValueError: the module attends in windows (its maps are per window, not (N, N)).
        """
        if self.window_size is not None:
            raise ValueError(f"{type(self).__name__}(window_size={self.window_size}): attention maps are formed for "
                             f"global attention only")
        q, k, _ = split_heads(self.qkv(x), 3, self.num_heads)
        return self._maps(q, k)

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, C); ``grid`` (h, w) is needed with windows (N = h*w), ignored without.

        Raises:
            ValueError: windows without a grid, or a token count other than h*w.
        """
        if self.window_size is None:
            return self._attend_tokens(x)
        win = windows_of(self, grid)
        return win.merge(self._attend_tokens(win.split(x), win.key_mask(x.shape[0], x.device, x.dtype)))

    def _attend_tokens(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, N, C) with an additive key mask (B, 1, 1, N) -> (B, N, C)."""
        q, k, v = split_heads(self.qkv(x), 3, self.num_heads)
        if type(self).transform_attention is not SelfAttention.transform_attention:
            out = self._maps(q, k, mask)[0] @ masked_values(v, mask)
        else:
            p = self.attn_drop.p if self.training else 0.0
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, scale=self.scale)
        return self.proj_drop(self.proj(merge_heads(out)))

    def folded_head_mix(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """A transform of the attention map that mixes heads, as ``(W (H, H), b (H,))`` with ``A' = W A + b`` per
        (query, key) at inference; None for plain self-attention."""
        return None

    def deploy_branch(self, norm: nn.Module, scale: float = 1.0) -> DeployModule:
        """The inference form of ``x + self(norm(scale x)) / scale`` (:class:`AttentionBranch`)."""
        return folded_or_plain(AttentionBranch, norm, self, scale)


class AttentionBranch(DeployModule):
    """``x + proj(attention(qkv(norm(a x)))) / a`` for self-attention and head-mixing subclasses, (B, N, C) ->
    (B, N, C): the norm's affine and the logit scale folded into ``qkv``, 1/a into ``proj``, a head mixing
    (:meth:`SelfAttention.folded_head_mix`) kept as one (H, H) matrix and bias."""

    @classmethod
    def covers(cls, norm: nn.Module, attn: SelfAttention, a: float = 1.0) -> bool:
        """A LayerNorm (or none) before the attention, whose maps are softmax's own or mixed by a foldable
        head mixing (:meth:`SelfAttention.folded_head_mix`)."""
        plain_maps = type(attn).transform_attention is SelfAttention.transform_attention
        return folds_norm(norm, attn.qkv.in_features, a) and (plain_maps or attn.folded_head_mix() is not None)

    def __init__(self, norm: nn.Module, attn: SelfAttention, a: float = 1.0) -> None:
        super().__init__()
        c = attn.qkv.in_features
        self.num_heads = attn.num_heads
        self.eps, gamma, beta = layer_norm_parts(norm, c, a)
        w, b = fold_affine(attn.qkv.weight, attn.qkv.bias, gamma, beta)
        logit = torch.ones(3 * c, 1, dtype=w.dtype)
        logit[:c] = attn.scale  # the logit scale, applied to q
        mix = attn.folded_head_mix()
        self.window_size = attn.window_size
        self.qkv = frozen_linear(w * logit, b * logit[:, 0])
        self.proj = frozen_linear(attn.proj.weight / a, attn.proj.bias / a)
        self._buffers_from(mix_w=None if mix is None else mix[0], mix_b=None if mix is None else mix[1])

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, C) (windows as the trained module's, from ``grid``)."""
        if self.window_size is None:
            q, k, v = split_heads(self.qkv(bare_norm(x, self.eps)), 3, self.num_heads)
            return self._project(self._attend(q, k, v)).add_(x)
        win = windows_of(self, grid)
        q, k, v = split_heads(self.qkv(bare_norm(win.split(x), self.eps)), 3, self.num_heads)
        return win.merge(self._project(self._attend(q, k, v, win.key_mask(x.shape[0], x.device, x.dtype)))).add_(x)

    def first_token(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, 1, C): keys and values of every token, the query of the first (``qkv`` stays one
        Linear, quantizable as a whole; the unused queries cost under 1% of a ViT-Tiny).

        Raises:
            ValueError: the branch attends in windows (no class token to compute alone).
        """
        if self.window_size is not None:
            raise ValueError(f"window attention (window_size={self.window_size}) has no class token to compute alone")
        q, k, v = split_heads(self.qkv(bare_norm(x, self.eps)), 3, self.num_heads)
        return self._project(self._attend(q[:, :, :1], k, v)).add_(x[:, :1])

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """q (B, H, M, d) against k, v (B, H, N, d), an additive key mask (B, 1, 1, N) -> (B, H, M, d)."""
        if self.mix_w is None:
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0)
        # heads mixed by (H, H) plus a bias per head; (A + b_h) v = A v + b_h * sum_n v_n, so the bias is added to
        # the output, not to every entry of the (M, N) maps; masked keys' values are zeroed first
        v = masked_values(v, mask)
        b, h, m, n = q.shape[0], q.shape[1], q.shape[2], k.shape[2]
        logits = q @ k.transpose(-2, -1)
        attn = (logits if mask is None else logits + mask).softmax(dim=-1).view(b, h, m * n)
        attn = torch.bmm(self.mix_w.expand(b, h, h), attn)
        return torch.addcmul(attn.view(b, h, m, n) @ v, self.mix_b.view(1, h, 1, 1), v.sum(dim=2, keepdim=True))

    def _project(self, out: torch.Tensor) -> torch.Tensor:
        """(B, H, M, d) -> heads merged and projected, (B, M, C)."""
        return self.proj(merge_heads(out))
