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

from ..layers import fused, workspace
from ..layers.dropout import Dropout
from ..layers.mlp import Mlp
from ..registry import register_mixer


class _DoubleNormalize(torch.autograd.Function):
    """``y = s / (eps + sum_S s)`` with ``s = softmax_N(a)``, with a backward written for it.

    Autograd of the two-step form stores ``s`` and the denominator and replays a division, a
    negation, two products, a sum and the softmax backward over the full (.., N, .., S) map. With
    ``t = sum_S(g * y)`` and ``u = sum_N((g - t) * y)`` the gradient is ``y * (g - t - u * denom)``
    (``s = y * denom``): one temporary and four passes over the map. Measured 2.3x faster for
    (32, 257, 16, 64) on one core (forward + backward).
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


def _normalize(attn: torch.Tensor, token_dim: int, memory_dim: int, eps: float,
               out: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward of the double normalisation in place on the softmax (fresh, or in ``out``): (map, L1 denominator)."""
    if out is None:
        s = attn.softmax(dim=token_dim)
    else:
        s = torch.ops.aten._softmax.out(attn, token_dim % attn.dim(), False, out=out)
    denom = s.sum(dim=memory_dim, keepdim=True).add_(eps)
    return s.div_(denom), denom


def double_normalize(attn: torch.Tensor, token_dim: int, memory_dim: int = -1, eps: float = 1e-9,
                     out: torch.Tensor | None = None) -> torch.Tensor:
    """EA's double normalisation: softmax over the token axis, then L1 over the memory axis.

    ``attn`` (..., N, ..., S): ``token_dim`` indexes N and ``memory_dim`` S; same shape out.
    ``out`` (without autograd only): a contiguous buffer of that shape to write the map into.
    """
    if torch.is_grad_enabled() and attn.requires_grad:
        return _DoubleNormalize.apply(attn, token_dim, memory_dim, eps)
    return _normalize(attn, token_dim, memory_dim, eps, out)[0]


@register_mixer
class ExternalAttention(nn.Module):
    """Multi-head external attention (EAMLP), (B, N, C) -> (B, N, C).

    Args:
        dim: channels C.
        num_heads: H; the layer uses ``expansion * H`` heads of width C / H.
        memory: memory units S per head (64 in EAMLP).
        expansion: width expansion e of ``trans_dims`` (4 in EAMLP; 1 keeps C).
        attn_drop: dropout on the normalised map.
        proj_drop: dropout after ``proj``.
    """

    def __init__(self, dim: int, num_heads: int = 8, memory: int = 64, expansion: int = 4,
                 attn_drop: float = 0.0, proj_drop: float = 0.0) -> None:
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
        self.record_attention = False
        self.attention: torch.Tensor | None = None

    @property
    def fold_cheaper(self) -> bool:
        """Whether the folded GEMMs (C -> h*S, h*S -> C) cost fewer FLOPs than the four unfolded ones.

        Per token and side: h*S*C multiply-adds folded against e*C*C + e*C*S unfolded (h*d = e*C); for
        every EAMLP preset (d = S = 64) folding saves S / (C + S) of them, e.g. 20% in eamlp-7.
        """
        c, ec, s = self.trans_dims.in_features, self.trans_dims.out_features, self.linear_0.out_features
        return self.heads * s * c < ec * (c + s)

    def _fold(self, norm: nn.Module | None = None) -> tuple[torch.Tensor, ...]:
        """``linear_0`` folded into ``trans_dims`` and ``linear_1`` into ``proj`` (differentiable).

        Both memories are shared by all heads, so ``linear_0(trans_dims(x))`` is one Linear C -> h*S and
        ``proj(linear_1(A))`` one Linear h*S -> C. With a LayerNorm ``norm``, its affine is folded into the
        first as well (it then takes the bare normalisation).
        """
        h, d = self.heads, self.head_dim
        w0, b0, w1, b1 = self.linear_0.weight, self.linear_0.bias, self.linear_1.weight, self.linear_1.bias
        t_w, t_b = self.trans_dims.weight.view(h, d, -1), self.trans_dims.bias.view(h, d)
        p_w = self.proj.weight.view(-1, h, d)
        in_w = torch.einsum("sd,hdc->hsc", w0, t_w).reshape(h * w0.shape[0], -1)
        in_b = (torch.einsum("sd,hd->hs", w0, t_b) + b0).reshape(-1)
        if isinstance(norm, nn.LayerNorm) and norm.elementwise_affine:
            in_w, in_b = fused.fold_affine(in_w, in_b, norm.weight, norm.bias)
        out_w = torch.einsum("chd,ds->chs", p_w, w1).reshape(p_w.shape[0], -1)
        out_b = torch.einsum("chd,d->c", p_w, b1) + self.proj.bias
        return in_w, in_b, out_w, out_b

    def folded_weights(self, norm: nn.Module | None = None) -> tuple[torch.Tensor, ...]:
        """Inference weights of :meth:`_fold`, cached until a parameter changes (tensor versions):
        two GEMMs per layer instead of four."""
        params = [self.trans_dims.weight, self.trans_dims.bias, self.linear_0.weight, self.linear_0.bias,
                  self.linear_1.weight, self.linear_1.bias, self.proj.weight, self.proj.bias]
        affine = isinstance(norm, nn.LayerNorm) and norm.elementwise_affine
        extra = [norm.weight, norm.bias] if affine else []
        return fused.cached(self, f"memories.{id(norm) if affine else None}", params + extra,
                            lambda: self._fold(norm))

    def forward_residual(self, x: torch.Tensor, norm: nn.Module) -> torch.Tensor:
        """``x + self(norm(x))`` at inference: memories and norm folded, residual fused into the last GEMM."""
        b, n, _ = x.shape
        x = x.contiguous()
        in_w, in_b, out_w, out_b = self.folded_weights(norm)
        attn = fused.linear(fused.normalize(norm, x), in_w, in_b).view(b, n, self.heads, -1)
        attn = double_normalize(attn, token_dim=1, out=workspace.buffer("ea.map", attn.shape, x))
        if self.record_attention:  # the map's buffer is reused by the next layer
            self.attention = attn.permute(0, 2, 1, 3).clone()  # (B, h, N, S)
        return fused.linear(attn.view(b, n, -1), out_w, out_b, residual=x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> (B, N, C); heads stay in the (B, N, heads, d) layout, so no permutes.

        Inference uses the cached folded weights; training folds them differentiably in every step when
        that costs fewer FLOPs (:attr:`fold_cheaper`; e.g. 20% fewer in eamlp-7's mixers) and the
        gradients reach the four original Linears through the fold.
        """
        b, n, _ = x.shape
        if not (self.training or torch.is_grad_enabled()):
            in_w, in_b, out_w, out_b = self.folded_weights()
        elif self.fold_cheaper:
            in_w, in_b, out_w, out_b = self._fold()
        else:
            attn = self.linear_0(self.trans_dims(x).view(b, n, self.heads, self.head_dim))  # (B, N, h, S)
            attn = self._attend(attn)
            return self.proj_drop(self.proj(self.linear_1(attn).view(b, n, -1)))
        attn = self._attend(F.linear(x, in_w, in_b).view(b, n, self.heads, -1))  # (B, N, h, S)
        return self.proj_drop(F.linear(attn.reshape(b, n, -1), out_w, out_b))

    def _attend(self, attn: torch.Tensor) -> torch.Tensor:
        """Memory logits (B, N, h, S) -> normalised, dropped-out map (recorded if asked)."""
        attn = self.attn_drop(double_normalize(attn, token_dim=1))
        if self.record_attention:
            self.attention = attn.detach().permute(0, 2, 1, 3)  # (B, h, N, S)
        return attn


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
        At inference the fused path of :meth:`_forward_fused` runs.
        """
        if fused.can_fuse(self, x):
            return self._forward_fused(x, in_order)
        if in_order is None:
            x = self.attn(self.norm1(x))
        else:
            n1 = self.norm1
            x = self.attn(F.layer_norm(x, n1.normalized_shape, n1.weight[in_order], n1.bias[in_order], n1.eps),
                          in_order)
        return x + self.mlp(self.norm2(x))

    def _folded(self, in_order: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        """``norm1``'s affine folded into ``q_linear`` (read through ``in_order``), ``linear_1`` into ``proj``."""
        a, n1 = self.attn, self.norm1
        params = [a.q_linear.weight, a.q_linear.bias, n1.weight, n1.bias, a.linear_1.weight, a.linear_1.bias,
                  a.proj.weight, a.proj.bias] + ([] if in_order is None else [in_order])

        def build() -> tuple[torch.Tensor, ...]:
            w, gamma, beta = a.q_linear.weight, n1.weight, n1.bias
            if in_order is not None:
                w, gamma, beta = w[:, in_order], gamma[in_order], beta[in_order]
            out_w = a.proj.weight @ a.linear_1.weight
            out_b = a.proj.weight @ a.linear_1.bias + a.proj.bias
            return (*fused.fold_affine(w, a.q_linear.bias, gamma, beta), out_w, out_b)

        return fused.cached(self, "token_layer", params, build)

    def _forward_fused(self, x: torch.Tensor, in_order: torch.Tensor | None) -> torch.Tensor:
        """Inference: bare LayerNorm, ``q``, memory logits, double normalisation, one output GEMM that
        accumulates onto ``q`` (the residual), then the MLP branch fused (:meth:`Mlp.forward_residual`).

        ``q`` (normalisation and GEMM in row blocks), the logits and the map (~62 MB for eamlp-7's first
        layer at batch 16) go to reused buffers (:mod:`backbones.layers.workspace`), not fresh pages.
        """
        q_w, q_b, out_w, out_b = self._folded(in_order)
        rows, memory = x.shape[:-1], self.attn.linear_0.out_features
        q = fused.normalized_linear_into(workspace.buffer("ea_token.q", (*rows, q_w.shape[0]), x), x,
                                         self.norm1.eps, q_w, q_b)
        logits = workspace.buffer("ea_token.logits", (*rows, memory), x)
        torch.mm(q.view(-1, q.shape[-1]), self.attn.linear_0.weight.t(), out=logits.view(-1, memory))
        attn = double_normalize(logits, token_dim=1, out=workspace.buffer("ea_token.map", logits.shape, x))
        q2 = q.view(-1, q.shape[-1]).add_(out_b)  # q is spent too: q + b + A W^T accumulates in place
        torch.addmm(q2, attn.view(-1, memory), out_w.t(), out=q2)  # (not addmm_: FLOP counters skip it)
        return self.mlp.forward_residual(q, self.norm2)


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
