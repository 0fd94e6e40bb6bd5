"""T2T-ViT's tokens-to-token stem (Yuan et al. 2021) with External attention token layers, as EAMLP uses it
(Guo et al. 2021, "Beyond Self-attention: External Attention using Two Linear Layers for Visual Tasks"): three
soft splits (unfold 7/4, 3/2, 3/2) with an EA token layer after the first two, then a linear projection; and
its inference form (token layers with folded norms and composed memories).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import MODELS

from backbones.models.deploy.base import DeployModule
from backbones.models.deploy.fold import compose, fold_affine
from backbones.models.layers.double_norm import double_normalize, memory_map_t, read_map_t
from backbones.models.layers.dropout import Dropout
from backbones.models.layers.mlp import Mlp, MlpBranch
from backbones.models.stems.patch import conv_out


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


def soft_split(x: torch.Tensor, kernel: int, stride: int, pad: int, channels_last: bool = False) -> torch.Tensor:
    """T2T's soft split (``nn.Unfold`` then tokens first) as one gather: (B, h*w, C*k*k).

    ``x`` is (B, C, H, W), or (B, H, W, C) with ``channels_last``. Features come in ``nn.Unfold``'s
    (C, kh, kw) order for channels-first input and in (kh, kw, C) order for channels-last input, whose
    copy then moves runs of C contiguous values (:func:`unfold_order` maps one order to the other).
    """
    if channels_last:
        x = F.pad(x, (0, 0, pad, pad, pad, pad)).unfold(1, kernel, stride).unfold(2, kernel, stride)
        x = x.permute(0, 1, 2, 4, 5, 3)  # (B, h, w, kh, kw, C)
    else:
        x = F.pad(x, (pad, pad, pad, pad)).unfold(2, kernel, stride).unfold(3, kernel, stride)
        x = x.permute(0, 2, 3, 1, 4, 5)  # (B, h, w, C, kh, kw)
    b, h, w = x.shape[:3]
    return x.reshape(b, h * w, -1)


def unfold_order(channels: int, kernel: int) -> torch.Tensor:
    """Index ``p`` with ``(kh, kw, C)-ordered features = (C, kh, kw)-ordered features[p]``."""
    return torch.arange(channels * kernel * kernel).view(channels, kernel * kernel).t().reshape(-1)


@MODELS.register_module()
class TokensToTokenStem(nn.Module):
    """T2T stem with EA token layers: unfold(7, 4, 2) -> attention1 -> unfold(3, 2, 1) -> attention2
    -> unfold(3, 2, 1) -> project. The grid is H/16 for inputs divisible by 16.

    The token layers' outputs stay channels-last, so the last two soft splits gather features in
    (kh, kw, C) order and ``attention2`` and ``project`` read their input-side weights through that
    permutation (same function; the parameters keep the official (C, kh, kw) layout).

    Args:
        dim: output channels C.
        in_channels: image channels.
        token_dim: width of the token layers (64 in T2T-ViT / EAMLP).
        memory: external memory size of the token layers (128 in EAMLP).
        drop: dropout inside the token layers (0.1 in EAMLP).
    """

    SPLITS = ((7, 4, 2), (3, 2, 1), (3, 2, 1))

    def __init__(self, dim: int, in_channels: int = 3, token_dim: int = 64, memory: int = 128,
                 drop: float = 0.1) -> None:
        super().__init__()
        (k0, _, _), (k1, _, _), (k2, _, _) = self.SPLITS
        self.attention1 = EATokenLayer(in_channels * k0 * k0, token_dim, memory, drop)
        self.attention2 = EATokenLayer(token_dim * k1 * k1, token_dim, memory, drop)
        self.project = nn.Linear(token_dim * k2 * k2, dim)
        self.register_buffer("order1", unfold_order(token_dim, k1), persistent=False)
        self.register_buffer("order2", unfold_order(token_dim, k2), persistent=False)

    def grid_size(self, img_size: tuple[int, int]) -> tuple[int, int]:
        """Token grid for an input of ``img_size`` (H, W)."""
        out = list(img_size)
        for k, s, p in self.SPLITS:
            out = [conv_out(v, k, s, p) for v in out]
        return out[0], out[1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, 3, H, W) -> tokens (B, h*w, C), grid (h, w)."""
        grids = [tuple(x.shape[2:])]
        for k, s, p in self.SPLITS:
            grids.append(tuple(conv_out(v, k, s, p) for v in grids[-1]))
        b = x.shape[0]
        t = self.attention1(soft_split(x, *self.SPLITS[0]))  # (B, h1*w1, token_dim)
        t = self.attention2(soft_split(t.view(b, *grids[1], -1), *self.SPLITS[1], channels_last=True),
                            in_order=self.order1)
        t = soft_split(t.view(b, *grids[2], -1), *self.SPLITS[2], channels_last=True)
        return F.linear(t, self.project.weight[:, self.order2], self.project.bias), grids[3]

    def to_deploy(self) -> DeployT2TStem:
        """The inference form: folded token layers, the projection's permuted weight stored once."""
        return DeployT2TStem(self)


class DeployTokenLayer(DeployModule):
    """:class:`EATokenLayer`: ``q = q_linear(LN(x))`` (affine folded, input order applied once),
    ``y = q + M(DN(linear_0 q))`` with ``M = proj . linear_1`` as one Linear, then the MLP branch."""

    def __init__(self, layer: EATokenLayer, in_order: torch.Tensor | None = None) -> None:
        super().__init__()
        a, n1 = layer.attn, layer.norm1
        w, gamma, beta = a.q_linear.weight, n1.weight, n1.bias
        if in_order is not None:
            w, gamma, beta = w[:, in_order], gamma[in_order], beta[in_order]
        self.eps = n1.eps
        q_w, q_b = fold_affine(w, a.q_linear.bias, gamma, beta)
        out_w, out_b = compose((a.linear_1.weight, a.linear_1.bias), (a.proj.weight, a.proj.bias))
        self._buffers_from(q_w=q_w, q_b=q_b, mem_w=a.linear_0.weight, out_w=out_w, out_b=out_b)
        self.mlp = MlpBranch(layer.norm2, layer.mlp)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, in_dim) -> (B, N, dim)."""
        q = F.linear(F.layer_norm(x, x.shape[-1:], None, None, self.eps), self.q_w, self.q_b)
        attn_t = memory_map_t(q, self.mem_w)  # (S, B*N), tokens innermost
        return self.mlp(read_map_t(attn_t, self.out_w, self.out_b, q.shape[0]).add_(q))


class DeployT2TStem(DeployModule):
    """:class:`TokensToTokenStem` with folded token layers and the projection's permuted weight stored."""

    def __init__(self, stem: TokensToTokenStem) -> None:
        super().__init__()
        self.splits = stem.SPLITS
        self.attention1 = DeployTokenLayer(stem.attention1)
        self.attention2 = DeployTokenLayer(stem.attention2, stem.order1)
        self._buffers_from(project_w=stem.project.weight[:, stem.order2], project_b=stem.project.bias)

    def grids(self, img_size: tuple[int, int]) -> list[tuple[int, int]]:
        """The grid after each soft split, starting with the image size."""
        grids = [tuple(img_size)]
        for k, s, p in self.splits:
            grids.append(tuple(conv_out(v, k, s, p) for v in grids[-1]))
        return grids  # type: ignore[return-value]

    def grid_size(self, img_size: tuple[int, int]) -> tuple[int, int]:
        """Token grid for an input of ``img_size`` (H, W)."""
        return self.grids(img_size)[-1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, 3, H, W) -> tokens (B, h*w, C), grid (h, w)."""
        grids = self.grids(x.shape[2:])
        b = x.shape[0]
        t = self.attention1(soft_split(x, *self.splits[0]))
        t = self.attention2(soft_split(t.view(b, *grids[1], -1), *self.splits[1], channels_last=True))
        t = soft_split(t.view(b, *grids[2], -1), *self.splits[2], channels_last=True)
        return F.linear(t, self.project_w, self.project_b), grids[3]
