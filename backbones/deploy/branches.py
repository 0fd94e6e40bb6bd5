"""Inference forms of the residual branches ``x + f(norm(a x)) / a`` of the zoo's blocks.

Each deploy branch is built once from a trained branch (a norm, a module ``f`` and DeepViT's
``scale_adjustment`` a) and owns its folded weights as buffers (:mod:`backbones.deploy.fold`):

* :class:`MlpBranch` - the channel MLP: the LayerNorm affine folded into ``fc1``, ``1/a`` into ``fc2``.
* :class:`AttentionBranch` - self-attention and Re-attention: the LayerNorm affine and the logit scale
  folded into ``qkv``; for Re-attention the eval-mode BatchNorm over heads and the re-attention scale
  folded into the H x H head-mixing matrix (one batched matmul per image).
* :class:`ExternalAttentionBranch` - EA's two shared memories folded into ``trans_dims`` and ``proj``
  (two GEMMs instead of four) when the layer computes that way, and the LayerNorm affine into the first.
* :class:`TokenMlpBranch` - FF-only's token MLP: the affine of its LayerNorm over tokens folded into ``fc1``.
* :class:`ModuleBranch` - anything else: the trained modules in eval mode, drop-path removed.

Dropout and drop-path are identities at inference and vanish. A forward reads its buffers and
allocates its results; it keeps no state, so one converted model serves several threads at once.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers.mlp import Mlp
from ..mixers import ExternalAttention, FeedForwardMixer, ReAttention, SelfAttention
from ..mixers.base import TokenMixer
from ..mixers.external_attention import double_normalize
from .fold import batch_norm_scale_shift, fold_affine, layer_norm_parts


class NotFoldable(TypeError):
    """A branch whose modules the folds do not cover; it is kept as a :class:`ModuleBranch`."""


def bare_norm(x: torch.Tensor, eps: float | None) -> torch.Tensor:
    """LayerNorm without affine over the last axis (``eps`` None: identity)."""
    return x if eps is None else F.layer_norm(x, x.shape[-1:], None, None, eps)


class DeployModule(nn.Module):
    """Base of the inference-only modules: they cannot be put back into training mode.

    Residual branches (``forward(x, grid)``, (B, N, C) -> (B, N, C)) also say whether they mix tokens
    and give the result for the first (class) token alone, (B, N, C) -> (B, 1, C): a backbone whose
    only output is the class token needs no more from its last block.
    """

    mixes_tokens = True

    def train(self, mode: bool = True) -> DeployModule:
        """Only ``train(False)`` (``eval()``) is allowed."""
        if mode:
            raise RuntimeError(f"{type(self).__name__} is an inference module made by convert_to_deploy; train the "
                               f"plain model instead")
        return super().train(False)

    def _buffers_from(self, **tensors: torch.Tensor | None) -> None:
        for name, t in tensors.items():
            self.register_buffer(name, None if t is None else t.detach().clone().contiguous())

    def first_token(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """The branch's output for the first token only, (B, N, C) -> (B, 1, C)."""
        return self(x, grid)[:, :1]


def _norm_parts(norm: nn.Module, dim: int, a: float) -> tuple[float | None, torch.Tensor | None, torch.Tensor | None]:
    try:
        return layer_norm_parts(norm, dim, a)
    except TypeError as err:
        raise NotFoldable(str(err)) from err


class MlpBranch(DeployModule):
    """``x + fc2(GELU(fc1(norm(a x)))) / a`` with the norm's affine in ``fc1`` and 1/a in ``fc2``."""

    mixes_tokens = False

    def __init__(self, norm: nn.Module, mlp: Mlp, a: float = 1.0) -> None:
        super().__init__()
        if not isinstance(mlp.act, nn.GELU):
            raise NotFoldable("MLP activation is not GELU")
        self.eps, gamma, beta = _norm_parts(norm, mlp.fc1.in_features, a)
        self.approximate = mlp.act.approximate
        w1, b1 = fold_affine(mlp.fc1.weight, mlp.fc1.bias, gamma, beta)
        self._buffers_from(w1=w1, b1=b1, w2=mlp.fc2.weight / a,
                           b2=None if mlp.fc2.bias is None else mlp.fc2.bias / a)

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(..., C) -> (..., C)."""
        h = F.gelu(F.linear(bare_norm(x, self.eps), self.w1, self.b1), approximate=self.approximate)
        return x + F.linear(h, self.w2, self.b2)


class AttentionBranch(DeployModule):
    """``x + proj(attention(qkv(norm(a x)))) / a`` for self-attention and Re-attention, (B, N, C) -> (B, N, C)."""

    def __init__(self, norm: nn.Module, attn: SelfAttention, a: float = 1.0) -> None:
        super().__init__()
        c = attn.qkv.in_features
        self.num_heads, self.head_dim = attn.num_heads, attn.head_dim
        self.eps, gamma, beta = _norm_parts(norm, c, a)
        w, b = fold_affine(attn.qkv.weight, attn.qkv.bias, gamma, beta)
        w, b = w.clone(), b.clone()
        w[:c] *= attn.scale  # the logit scale, applied to q
        b[:c] *= attn.scale
        mix_w = mix_b = None
        if isinstance(attn, ReAttention):
            g, shift = batch_norm_scale_shift(attn.head_norm)
            g, shift = g * attn.reatten_scale, shift * attn.reatten_scale
            mix_w = attn.head_mix.weight.detach() * g[:, None]
            mix_b = attn.head_mix.bias.detach() * g + shift
        self._buffers_from(qkv_w=w, qkv_b=b, proj_w=attn.proj.weight / a, proj_b=attn.proj.bias / a,
                           mix_w=mix_w, mix_b=mix_b)

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, C)."""
        b, n, c = x.shape
        qkv = F.linear(bare_norm(x, self.eps), self.qkv_w, self.qkv_b)
        q, k, v = qkv.view(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        return x + self._project(self._attend(q, k, v))

    def first_token(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, 1, C): keys and values of every token, the query of the first."""
        b, n, c = x.shape
        y = bare_norm(x, self.eps)
        kv = F.linear(y, self.qkv_w[c:], self.qkv_b[c:])
        k, v = kv.view(b, n, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        q = F.linear(y[:, :1], self.qkv_w[:c], self.qkv_b[:c]).view(b, 1, self.num_heads, self.head_dim)
        return x[:, :1] + self._project(self._attend(q.transpose(1, 2), k, v))

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """q (B, H, M, d) against k, v (B, H, N, d) -> (B, H, M, d)."""
        if self.mix_w is None:
            return F.scaled_dot_product_attention(q, k, v, scale=1.0)
        # Re-attention: heads mixed by (H, H) plus a bias per head; (A + b_h) v = A v + b_h * sum_n v_n,
        # so the bias is added to the output, not to every entry of the (M, N) maps
        b, h, m, n = q.shape[0], q.shape[1], q.shape[2], k.shape[2]
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1).view(b, h, m * n)
        attn = torch.bmm(self.mix_w.expand(b, h, h), attn)
        return torch.addcmul(attn.view(b, h, m, n) @ v, self.mix_b.view(1, h, 1, 1), v.sum(dim=2, keepdim=True))

    def _project(self, out: torch.Tensor) -> torch.Tensor:
        """(B, H, M, d) -> heads merged and projected, (B, M, C)."""
        b, h, m, d = out.shape
        return F.linear(out.transpose(1, 2).reshape(b, m, h * d), self.proj_w, self.proj_b)


class ExternalAttentionBranch(DeployModule):
    """``x + EA(norm(a x)) / a`` with EA's memories folded into its projections when the layer computes
    that way (:meth:`ExternalAttention.folded_memories`), and the norm's affine into the first Linear."""

    def __init__(self, norm: nn.Module, ea: ExternalAttention, a: float = 1.0) -> None:
        super().__init__()
        c = ea.trans_dims.in_features
        self.heads, self.head_dim, self.folded = ea.heads, ea.head_dim, ea.fold_memories
        self.eps, gamma, beta = _norm_parts(norm, c, a)
        if self.folded:
            in_w, in_b, out_w, out_b = ea.folded_memories()
            in_w, in_b = fold_affine(in_w, in_b, gamma, beta)
            self._buffers_from(in_w=in_w, in_b=in_b, out_w=out_w / a, out_b=out_b / a)
        else:
            t_w, t_b = fold_affine(ea.trans_dims.weight, ea.trans_dims.bias, gamma, beta)
            self._buffers_from(t_w=t_w, t_b=t_b, w0=ea.linear_0.weight, b0=ea.linear_0.bias, w1=ea.linear_1.weight,
                               b1=ea.linear_1.bias, p_w=ea.proj.weight / a, p_b=ea.proj.bias / a)

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, C)."""
        return x + self._read(self._map(x))

    def first_token(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, 1, C): the map needs every token (softmax over N); the read-out only the first."""
        return x[:, :1] + self._read(self._map(x)[:, :1])

    def _map(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> the double-normalised map (B, N, h, S)."""
        b, n, _ = x.shape
        y = bare_norm(x, self.eps)
        if self.folded:
            return double_normalize(F.linear(y, self.in_w, self.in_b).view(b, n, self.heads, -1), token_dim=1)
        t = F.linear(y, self.t_w, self.t_b).view(b, n, self.heads, self.head_dim)
        return double_normalize(F.linear(t, self.w0, self.b0), token_dim=1)

    def _read(self, attn: torch.Tensor) -> torch.Tensor:
        """Map rows (B, M, h, S) -> values (B, M, C)."""
        b, m = attn.shape[:2]
        if self.folded:
            return F.linear(attn.reshape(b, m, -1), self.out_w, self.out_b)
        return F.linear(F.linear(attn, self.w1, self.b1).reshape(b, m, -1), self.p_w, self.p_b)


class TokenMlpBranch(DeployModule):
    """FF-only: ``x + (fc2(GELU(fc1(LN_N(a x)^T))))^T / a`` for the N tokens the layer was built for."""

    def __init__(self, norm: nn.Module, ff: FeedForwardMixer, a: float = 1.0) -> None:
        super().__init__()
        if not isinstance(norm, nn.Identity) or ff.token_resize is not None or not isinstance(ff.act, nn.GELU):
            raise NotFoldable("FF-only branch with a channel norm, a token resize rule or another activation")
        self.num_tokens, self.approximate = ff.num_tokens, ff.act.approximate
        self.eps, gamma, beta = _norm_parts(ff.norm, ff.num_tokens, a)
        w1, b1 = fold_affine(ff.fc1.weight, ff.fc1.bias, gamma, beta)
        self._buffers_from(w1=w1, b1=b1, w2=ff.fc2.weight / a, b2=ff.fc2.bias / a)

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, C); N must be the build token count."""
        return x + F.linear(self._hidden(x), self.w2, self.b2).transpose(1, 2)

    def first_token(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, 1, C): only the first row of ``fc2``."""
        return x[:, :1] + F.linear(self._hidden(x), self.w2[:1], self.b2[:1]).transpose(1, 2)

    def _hidden(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> GELU(fc1(LN_N(x^T))), (B, C, hidden)."""
        n = x.shape[1]
        if n != self.num_tokens:
            raise ValueError(f"FeedForwardMixer was built for {self.num_tokens} tokens but got {n}; build the "
                             f"backbone for this input size (img_size) or opt in to token_resize='bilinear'")
        xt = bare_norm(x.transpose(1, 2).contiguous(), self.eps)  # (B, C, N)
        return F.gelu(F.linear(xt, self.w1, self.b1), approximate=self.approximate)


class ModuleBranch(DeployModule):
    """``x + f(norm(a x)) / a`` with the trained modules (eval mode), for branches no fold covers."""

    def __init__(self, norm: nn.Module, fn: nn.Module, a: float = 1.0) -> None:
        super().__init__()
        self.norm, self.fn, self.a = norm, fn, a
        self.wants_grid = isinstance(fn, TokenMixer) and fn.wants_grid
        self.mixes_tokens = isinstance(fn, TokenMixer)

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, C)."""
        args = (grid,) if self.wants_grid else ()
        if self.a == 1.0:
            return x + self.fn(self.norm(x), *args)
        return x + self.fn(self.norm(x * self.a), *args) / self.a


BranchFactory = Callable[[nn.Module, nn.Module, float], DeployModule]

#: Deploy branch of each module type (exact type: a subclass may change the math). A new mixer adds
#: its own entry; without one its branch stays a :class:`ModuleBranch`.
BRANCHES: dict[type, BranchFactory] = {
    Mlp: MlpBranch,
    SelfAttention: AttentionBranch,
    ReAttention: AttentionBranch,
    ExternalAttention: ExternalAttentionBranch,
    FeedForwardMixer: TokenMlpBranch,
}


def deploy_branch(norm: nn.Module, fn: nn.Module, a: float = 1.0) -> DeployModule:
    """The inference form of the branch ``x + fn(norm(a x)) / a``."""
    factory = BRANCHES.get(type(fn))
    if factory is not None:
        try:
            return factory(norm, fn, a)
        except NotFoldable:
            pass
    return ModuleBranch(norm, fn, a)
