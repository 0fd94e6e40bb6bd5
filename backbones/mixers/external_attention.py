"""External attention (Guo et al. 2021, "Beyond Self-attention: External Attention using Two Linear
Layers for Visual Tasks").

Attention against a small learnable memory shared by all samples: ``A = M_k x`` (S memory units),
normalised twice - softmax over the N tokens, then L1 over the S units - and ``y = M_v A``.
Linear in N. Three forms, all from the official code (EANet, EAMLP):

* :class:`ExternalAttention` - the multi-head mixer of EAMLP blocks, (B, N, C) -> (B, N, C):
  ``trans_dims`` widens C to e*C (e = 4), split into e*H heads of width C/H, memory S = 64 per
  head, ``proj`` back to C.
* :class:`EATokenLayer` - the single-head token layer of EAMLP's tokens-to-token stem.
* :class:`ExternalAttention2d` - the EA unit on feature maps (B, C, H, W) of EANet's
  segmentation head: 1x1 conv, EA with S = 64, 1x1 conv + BN, residual, ReLU.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import MODELS

from ..layers.dropout import Dropout
from ..layers.mlp import Mlp
from ..registry import register_mixer
from .base import TokenMixer


class _DoubleNormalize(torch.autograd.Function):
    """``y = s / (eps + sum_S s)`` with ``s = softmax_N(a)``, with a backward written for it.

    Autograd of the two-step form stores ``s`` and the denominator and replays a division, a
    negation, two products, a sum and the softmax backward over the full (.., N, .., S) map. With
    ``t = sum_S(g * y)`` and ``u = sum_N((g - t) * y)`` the gradient is ``y * (g - t - u * denom)``
    (``s = y * denom``): one temporary and four passes over the map.
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, attn: torch.Tensor, token_dim: int, memory_dim: int,
                eps: float) -> torch.Tensor:
        y, denom = _normalize(attn, token_dim, memory_dim, eps)
        ctx.save_for_backward(y, denom)
        ctx.dims = token_dim, memory_dim
        return y

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        y, denom = ctx.saved_tensors
        token_dim, memory_dim = ctx.dims
        q = grad - (grad * y).sum(dim=memory_dim, keepdim=True)
        q.addcmul_((q * y).sum(dim=token_dim, keepdim=True), denom, value=-1)
        return q.mul_(y), None, None, None


def _normalize(attn: torch.Tensor, token_dim: int, memory_dim: int, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward of the double normalisation: (map, L1 denominator), the division in place on the softmax."""
    s = attn.softmax(dim=token_dim)
    denom = s.sum(dim=memory_dim, keepdim=True).add_(eps)
    return s.div_(denom), denom


def double_normalize(attn: torch.Tensor, token_dim: int, memory_dim: int = -1, eps: float = 1e-9) -> torch.Tensor:
    """EA's double normalisation: softmax over the token axis, then L1 over the memory axis.

    ``attn`` (..., N, ..., S): ``token_dim`` indexes N and ``memory_dim`` S; same shape out.
    """
    if torch.is_grad_enabled() and attn.requires_grad:
        return _DoubleNormalize.apply(attn, token_dim, memory_dim, eps)
    return _normalize(attn, token_dim, memory_dim, eps)[0]


@register_mixer
class ExternalAttention(TokenMixer):
    """Multi-head external attention (EAMLP), (B, N, C) -> (B, N, C).

    ``y = proj(M_v(DN(M_k(trans_dims(x)))))`` with the heads in the (B, N, h, d) layout (no permutes):
    ``trans_dims`` widens C to e*C = h*d, ``M_k = linear_0`` (d -> S) and ``M_v = linear_1``
    (S -> d) are shared by all h heads, DN is :func:`double_normalize` over the N tokens.

    Because the memories are shared by the heads, ``M_k . trans_dims`` is one Linear C -> h*S and
    ``proj . M_v`` one Linear h*S -> C (:meth:`folded_memories`). Per token and side that costs h*S*C
    multiply-adds instead of e*C*(C + S): fewer when S <= d (EAMLP: d = S = 64, 20% fewer in eamlp-7).
    With ``fold_memories`` a training step computes the layer through the composed weights, rebuilt from
    the four Linears in every step (gradients reach all four): the same function. Evaluation computes the
    layers one by one; the deploy conversion folds them once (:mod:`backbones.deploy`).

    Args:
        dim: channels C.
        num_heads: H; the layer uses ``expansion * H`` heads of width C / H.
        memory: memory units S per head (64 in EAMLP).
        expansion: width expansion e of ``trans_dims`` (4 in EAMLP; 1 keeps C).
        attn_drop: dropout on the normalised map.
        proj_drop: dropout after ``proj``.
        fold_memories: train through the composed weights; None: when that costs fewer multiply-adds.
    """

    settings = ("num_heads", "attn_drop", "proj_drop")
    records_attention = True

    def __init__(self, dim: int, num_heads: int = 8, memory: int = 64, expansion: int = 4,
                 attn_drop: float = 0.0, proj_drop: float = 0.0, fold_memories: bool | None = None) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"ExternalAttention: dim {dim} is not divisible by num_heads {num_heads}")
        self.heads, self.head_dim = num_heads * expansion, dim // num_heads
        self.trans_dims = nn.Linear(dim, dim * expansion)
        self.linear_0 = nn.Linear(self.head_dim, memory)
        self.linear_1 = nn.Linear(memory, self.head_dim)
        self.attn_drop = Dropout(attn_drop)
        self.proj = nn.Linear(dim * expansion, dim)
        self.proj_drop = Dropout(proj_drop)
        cheaper = self.heads * memory * dim < dim * expansion * (dim + memory)
        self.fold_memories = cheaper if fold_memories is None else fold_memories

    def folded_memories(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``M_k . trans_dims`` as (h*S, C) weight and (h*S,) bias, ``proj . M_v`` as (C, h*S) and (C,)."""
        h, d, c = self.heads, self.head_dim, self.trans_dims.in_features
        w0, b0, w1, b1 = self.linear_0.weight, self.linear_0.bias, self.linear_1.weight, self.linear_1.bias
        p_w = self.proj.weight.view(c, h, d)
        in_w = torch.einsum("sd,hdc->hsc", w0, self.trans_dims.weight.view(h, d, c)).reshape(-1, c)
        in_b = (torch.einsum("sd,hd->hs", w0, self.trans_dims.bias.view(h, d)) + b0).reshape(-1)
        out_w = torch.einsum("chd,ds->chs", p_w, w1).reshape(c, -1)
        out_b = torch.einsum("chd,d->c", p_w, b1) + self.proj.bias
        return in_w, in_b, out_w, out_b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> (B, N, C)."""
        b, n, _ = x.shape
        fold = self.fold_memories and self.training
        if fold:
            in_w, in_b, out_w, out_b = self.folded_memories()
            attn = F.linear(x, in_w, in_b).view(b, n, self.heads, -1)  # (B, N, h, S)
        else:
            attn = self.linear_0(self.trans_dims(x).view(b, n, self.heads, self.head_dim))
        attn = self.attn_drop(double_normalize(attn, token_dim=1))
        self.keep_attention(attn.permute(0, 2, 1, 3))  # (B, h, N, S)
        if fold:
            return self.proj_drop(F.linear(attn.reshape(b, n, -1), out_w, out_b))
        return self.proj_drop(self.proj(self.linear_1(attn).view(b, n, -1)))


class EATokenAttention(nn.Module):
    """EAMLP's single-head EA of the token layers: ``q = q_linear(x)``, ``y = proj(M_v A(q))``, ``q + y``."""

    def __init__(self, in_dim: int, dim: int, memory: int = 128, drop: float = 0.0) -> None:
        super().__init__()
        self.q_linear = nn.Linear(in_dim, dim)
        self.linear_0 = nn.Linear(dim, memory, bias=False)
        self.linear_1 = nn.Linear(memory, dim)
        with torch.no_grad():
            self.linear_1.weight.copy_(self.linear_0.weight.t())
        self.attn_drop = Dropout(drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = Dropout(drop)

    def forward(self, x: torch.Tensor, in_order: torch.Tensor | None = None) -> torch.Tensor:
        """(B, N, in_dim) -> (B, N, dim); ``in_order``: see :meth:`EATokenLayer.forward`."""
        w = self.q_linear.weight if in_order is None else self.q_linear.weight[:, in_order]
        q = F.linear(x, w, self.q_linear.bias)
        attn = self.attn_drop(double_normalize(self.linear_0(q), token_dim=1))
        return q + self.proj_drop(self.proj(self.linear_1(attn)))


class EATokenLayer(nn.Module):
    """Token layer of the tokens-to-token stem: ``x = attn(norm1(x))``; ``x = x + mlp(norm2(x))``.

    Args:
        in_dim: input width (unfolded patch size).
        dim: output width (64 in EAMLP).
        memory: memory units S (128 in EAMLP).
        drop: dropout in the attention (0.1 in EAMLP).
    """

    def __init__(self, in_dim: int, dim: int = 64, memory: int = 128, drop: float = 0.1) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(in_dim)
        self.attn = EATokenAttention(in_dim, dim, memory, drop)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, dim)

    def forward(self, x: torch.Tensor, in_order: torch.Tensor | None = None) -> torch.Tensor:
        """(B, N, in_dim) -> (B, N, dim).

        ``in_order`` (in_dim,): the input features are permuted, ``x[..., j]`` being feature
        ``in_order[j]`` of the parameters' layout; the input-side weights are read through it.
        """
        if in_order is None:
            x = self.attn(self.norm1(x))
        else:
            n1 = self.norm1
            x = self.attn(F.layer_norm(x, n1.normalized_shape, n1.weight[in_order], n1.bias[in_order], n1.eps),
                          in_order)
        return x + self.mlp(self.norm2(x))


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
        from mmcv.cnn import build_norm_layer  # mmcv is heavy: imported only where a norm config is built

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
