"""The generic pre-norm block every backbone stacks (MetaFormer-style: the token mixer is a plug-in)."""
from __future__ import annotations

import torch
import torch.nn as nn
from timm.layers import DropPath

from ..mixers.base import TokenMixer
from .mlp import Mlp


class Block(nn.Module):
    """``x = x + mixer(norm1(a x)) / a`` and ``x = x + mlp(norm2(a x)) / a``, in either order.

    ``a`` is DeepViT's ``scale_adjustment`` (1 for plain blocks). FF-only runs the channel MLP first
    (``mixer_first=False``). A mixer with ``channel_prenorm = False`` normalises by itself and gets no
    ``norm1``; one with ``wants_grid = True`` receives the patch grid (:class:`TokenMixer`).

    Args:
        dim: channels C.
        mixer: the token mixer, (B, N, C) -> (B, N, C).
        mlp_ratio: hidden width of the channel MLP = int(C * mlp_ratio).
        drop: dropout inside the channel MLP.
        drop_path: stochastic-depth probability of both branches.
        norm_eps: LayerNorm epsilon.
        scale_adjustment: ``a`` above.
        mixer_first: mixer branch before the MLP branch (True for all but FF-only).
    """

    def __init__(self, dim: int, mixer: TokenMixer, mlp_ratio: float = 4.0, drop: float = 0.0,
                 drop_path: float = 0.0, norm_eps: float = 1e-6, scale_adjustment: float = 1.0,
                 mixer_first: bool = True) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps) if mixer.channel_prenorm else nn.Identity()
        self.mixer = mixer
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.scale_adjustment = scale_adjustment
        self.mixer_first = mixer_first

    def _branch(self, x: torch.Tensor, norm: nn.Module, fn: nn.Module, *args: object) -> torch.Tensor:
        a = self.scale_adjustment
        if a == 1.0:
            return x + self.drop_path(fn(norm(x), *args))
        return x + self.drop_path(fn(norm(x * a), *args) / a)

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, C); ``grid`` is the patch grid, passed to mixers that want it."""
        args = (grid,) if self.mixer.wants_grid else ()
        if self.mixer_first:
            x = self._branch(x, self.norm1, self.mixer, *args)
            return self._branch(x, self.norm2, self.mlp)
        x = self._branch(x, self.norm2, self.mlp)
        return self._branch(x, self.norm1, self.mixer, *args)
