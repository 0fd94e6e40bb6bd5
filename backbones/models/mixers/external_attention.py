"""External attention (Guo et al. 2021, "Beyond Self-attention: External Attention using Two Linear
Layers for Visual Tasks"), the multi-head mixer of EAMLP's blocks.

Attention against a small learnable memory shared by all samples: ``A = M_k x`` (S memory units),
normalised twice - softmax over the N tokens, then L1 over the S units
(:func:`~backbones.models.layers.double_normalize`) - and ``y = M_v A``. Linear in N. The single-head token layers of
EAMLP's tokens-to-token stem are in :mod:`backbones.models.stems.t2t`, EANet's EA unit on feature maps in
:mod:`backbones.segmentation.ea_head`.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from backbones.models.deploy.base import DeployModule, bare_norm, folded_or_plain, frozen_linear
from backbones.models.deploy.fold import fold_affine, folds_norm, layer_norm_parts
from backbones.models.layers.double_norm import double_normalize, memory_map_t, read_map_t
from backbones.models.layers.dropout import Dropout
from backbones.models.mixers.base import TokenMixer
from backbones.models.mixers.registry import register_mixer


@register_mixer
class ExternalAttention(TokenMixer):
    """Multi-head external attention (EAMLP), (B, N, C) -> (B, N, C).

    ``y = proj(M_v(DN(M_k(trans_dims(x)))))`` with the heads in the (B, N, h, d) layout (no permutes):
    ``trans_dims`` widens C to e*C = h*d, ``M_k = linear_0`` (d -> S) and ``M_v = linear_1``
    (S -> d) are shared by all h heads, DN is :func:`double_normalize` over the N tokens.

    Because the memories are shared by the heads, ``M_k . trans_dims`` is one Linear C -> h*S and
    ``proj . M_v`` one Linear h*S -> C (:meth:`folded_memories`). Per token and side that costs h*S*C
    multiply-adds instead of e*C*(C + S): fewer when S <= d (EAMLP: d = S = 64, 20% fewer in eamlp-7).
    With ``fold_memories`` the layer computes through the composed weights, rebuilt from the four Linears in
    every call (gradients reach all four) - the same function, one way in training and evaluation; the
    deploy form composes them once (:class:`ExternalAttentionBranch`).

    Args:
        dim: channels C.
        num_heads: H; the layer uses ``expansion * H`` heads of width C / H.
        memory: memory units S per head (64 in EAMLP).
        expansion: width expansion e of ``trans_dims`` (4 in EAMLP; 1 keeps C).
        attn_drop: dropout on the normalised map.
        proj_drop: dropout after ``proj``.
        fold_memories: compute through the composed weights; None: when that costs fewer multiply-adds.
    """

    settings = ("num_heads", "attn_drop", "proj_drop")

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

    def _map(self, x: torch.Tensor, folded: tuple | None) -> torch.Tensor:
        """(B, N, C) -> the double-normalised memory map (B, N, h, S)."""
        b, n, _ = x.shape
        if folded is not None:
            attn = F.linear(x, folded[0], folded[1]).view(b, n, self.heads, -1)
        else:
            attn = self.linear_0(self.trans_dims(x).view(b, n, self.heads, self.head_dim))
        return self.attn_drop(double_normalize(attn, token_dim=1))

    def attention_maps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The memory map of ``forward(x)``, (B, h, N, S), twice (there is no transform of it)."""
        attn = self._map(x, None).permute(0, 2, 1, 3)
        return attn, attn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> (B, N, C)."""
        b, n, _ = x.shape
        fold = self.fold_memories
        if fold:
            in_w, in_b, out_w, out_b = self.folded_memories()
        attn = self._map(x, (in_w, in_b) if fold else None)
        if fold:
            return self.proj_drop(F.linear(attn.reshape(b, n, -1), out_w, out_b))
        return self.proj_drop(self.proj(self.linear_1(attn).view(b, n, -1)))

    def deploy_branch(self, norm: nn.Module, scale: float = 1.0) -> DeployModule:
        """The inference form of ``x + self(norm(scale x)) / scale`` (:class:`ExternalAttentionBranch`)."""
        return folded_or_plain(ExternalAttentionBranch, norm, self, scale)


class ExternalAttentionBranch(DeployModule):
    """``x + EA(norm(a x)) / a`` at inference, (B, N, C) -> (B, N, C): the memories composed with ``trans_dims`` and
    ``proj`` once when the layer computes that way (:meth:`ExternalAttention.folded_memories`), the norm's affine
    folded into the first Linear and 1/a into the last. The composed form keeps its map transposed, (h*S, B*N),
    tokens innermost (:func:`~backbones.models.layers.double_norm.memory_map_t`): as fast in eager, and onnxruntime's
    Softmax needs no transposes (docs/benchmark.md has the exported timings of both layouts). The
    composed memories are buffers (the transposed layout reads them as matrices) until the int8 pass asks for them
    as :func:`~backbones.models.deploy.base.frozen_linear` modules (:meth:`for_precision`: the map then in the tokens'
    (B, N, h, S) layout); the four Linears of the other form are such modules."""

    @classmethod
    def covers(cls, norm: nn.Module, ea: ExternalAttention, a: float = 1.0) -> bool:
        """A LayerNorm (or none) before the layer."""
        return folds_norm(norm, ea.trans_dims.in_features, a)

    def __init__(self, norm: nn.Module, ea: ExternalAttention, a: float = 1.0) -> None:
        super().__init__()
        c = ea.trans_dims.in_features
        self.heads, self.head_dim, self.folded = ea.heads, ea.head_dim, ea.fold_memories
        self.eps, gamma, beta = layer_norm_parts(norm, c, a)
        if self.folded:
            in_w, in_b, out_w, out_b = ea.folded_memories()
            in_w, in_b = fold_affine(in_w, in_b, gamma, beta)
            self._buffers_from(in_w=in_w, in_b=in_b, out_w=out_w / a, out_b=out_b / a)
            self.layout = "transposed"
        else:
            self.layout = "tokens"
            t_w, t_b = fold_affine(ea.trans_dims.weight, ea.trans_dims.bias, gamma, beta)
            self.trans_dims = frozen_linear(t_w, t_b)
            self.linear_0, self.linear_1 = (frozen_linear(m.weight, m.bias) for m in (ea.linear_0, ea.linear_1))
            self.proj = frozen_linear(ea.proj.weight / a, ea.proj.bias / a)

    def for_precision(self, precision: str) -> None:
        """For ``int8``: the composed memories as Linear modules (``memory_in``, ``memory_out``), the map in the
        tokens' layout, so that the quantizers see them."""
        if precision == "int8" and self.layout == "transposed":
            self.memory_in, self.memory_out = frozen_linear(self.in_w, self.in_b), frozen_linear(self.out_w, self.out_b)
            for name in ("in_w", "in_b", "out_w", "out_b"):
                delattr(self, name)
            self.layout = "tokens"

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, C)."""
        if self.layout == "transposed":  # the map transposed, (h*S, B*N): tokens innermost
            return read_map_t(self._map_t(x), self.out_w, self.out_b, x.shape[0]).add_(x)
        return self._read(self._map(x)).add_(x)

    def first_token(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, 1, C): the map needs every token (softmax over N); the read-out only the first."""
        b, n, _ = x.shape
        if self.layout == "transposed":
            return read_map_t(self._map_t(x).view(-1, b, n)[:, :, 0], self.out_w, self.out_b, b).add_(x[:, :1])
        return self._read(self._map(x)[:, :1]).add_(x[:, :1])

    def _map_t(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> the double-normalised map of the composed memories, transposed: (h*S, B*N)."""
        return memory_map_t(bare_norm(x, self.eps), self.in_w, self.in_b, self.heads)

    def _map(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> the double-normalised map (B, N, h, S) through the composed memory (``memory_in``) or the
        Linears ``trans_dims`` and ``linear_0``."""
        b, n, _ = x.shape
        y = bare_norm(x, self.eps)
        if self.folded:
            z = self.memory_in(y).view(b, n, self.heads, -1)
        else:
            z = self.linear_0(self.trans_dims(y).view(b, n, self.heads, self.head_dim))
        return double_normalize(z, token_dim=1)

    def _read(self, attn: torch.Tensor) -> torch.Tensor:
        """Map rows (B, M, h, S) -> values (B, M, C) through the composed ``memory_out``, or ``M_v`` and ``proj``."""
        b, m = attn.shape[:2]
        if self.folded:
            return self.memory_out(attn.reshape(b, m, -1))
        return self.proj(self.linear_1(attn).reshape(b, m, -1))
