"""Position embeddings, each resized when the patch grid differs from the one it was built for.

Three kinds, all called as ``pos(x, grid)`` on tokens ``x`` of shape (B, [1 +] H*W, C):

* :class:`LearnedPosEmbed` - timm / DeiT / DeepViT: one learned table (1, [1 +] H*W, C); its grid
  part is resized bicubically (align_corners=False) for another grid, and when loading a
  checkpoint of another size (a checkpoint's class-token row is dropped for a table without one).
* :class:`GridPosEmbed` - FF-only ("Do You Even Need Attention?", Melas-Kyriazi 2021): a learned
  (1, C, h, w) grid, resized bilinearly (align_corners=False) at every forward whose grid differs,
  plus a separate class-token embedding.
* :class:`SinusoidalPosEmbed` - T2T-ViT / EAMLP: a fixed 1-D sinusoid table over the token index,
  stored as a frozen parameter; another token count regenerates the table.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def resize_tokens(table: torch.Tensor, old_grid: tuple[int, int], new_grid: tuple[int, int],
                  num_extra: int, mode: str = "bicubic") -> torch.Tensor:
    """Resize a (1, num_extra + h*w, C) token table from ``old_grid`` to ``new_grid``.

    The first ``num_extra`` rows (class token) are kept; the grid part is interpolated.
    """
    if tuple(old_grid) == tuple(new_grid):
        return table
    extra, grid = table[:, :num_extra], table[:, num_extra:]
    c = grid.shape[-1]
    if grid.shape[1] != old_grid[0] * old_grid[1]:
        raise ValueError(f"position table has {grid.shape[1]} grid tokens, expected {old_grid[0]}x{old_grid[1]}")
    grid = grid.reshape(1, old_grid[0], old_grid[1], c).permute(0, 3, 1, 2)
    grid = F.interpolate(grid.float(), size=tuple(new_grid), mode=mode, align_corners=False).to(table.dtype)
    return torch.cat([extra, grid.permute(0, 2, 3, 1).reshape(1, -1, c)], dim=1)


def _grid_of(num_tokens: int) -> tuple[int, int]:
    side = math.isqrt(num_tokens)
    if side * side != num_tokens:
        raise ValueError(f"cannot infer a square grid from {num_tokens} tokens")
    return side, side


class LearnedPosEmbed(nn.Module):
    """Learned absolute position table ``pos_embed`` of shape (1, [1 +] H*W, C).

    Args:
        dim: channels C.
        grid: (H, W) patch grid the table is built for.
        with_cls_token: whether the first row belongs to the class token.
        mode: interpolation used to resize the grid part.
    """

    def __init__(self, dim: int, grid: tuple[int, int], with_cls_token: bool = True, mode: str = "bicubic") -> None:
        super().__init__()
        self.grid, self.num_extra, self.mode = tuple(grid), int(with_cls_token), mode
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_extra + grid[0] * grid[1], dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """Add the table (resized to ``grid`` if needed) to tokens (B, [1 +] H*W, C)."""
        return x + resize_tokens(self.pos_embed, self.grid, grid, self.num_extra, self.mode)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        key = prefix + "pos_embed"
        if key in state_dict and state_dict[key].shape != self.pos_embed.shape:
            src = state_dict[key]
            if self.num_extra == 0 and _has_class_row(src.shape[1]):  # e.g. ImageNet weights into a detector's
                src = src[:, 1:]  # backbone without class token (ViTDet): the class token's position is dropped
            state_dict[key] = resize_tokens(src, _grid_of(src.shape[1] - self.num_extra), self.grid,
                                            self.num_extra, self.mode)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def _has_class_row(num_tokens: int) -> bool:
    """A table of 1 + h*h rows (a class token's row before a square grid) rather than a square grid itself."""
    return math.isqrt(num_tokens) ** 2 != num_tokens and math.isqrt(num_tokens - 1) ** 2 == num_tokens - 1


class GridPosEmbed(nn.Module):
    """FF-only's learned (1, C, h, w) position grid plus a (1, 1, C) class-token embedding.

    At every forward whose patch grid differs from (h, w) the grid is resized bilinearly
    (align_corners=False), as in the official code.
    """

    def __init__(self, dim: int, grid: tuple[int, int], with_cls_token: bool = True, mode: str = "bilinear") -> None:
        super().__init__()
        if not with_cls_token:
            raise ValueError("GridPosEmbed carries a class-token embedding: use it with with_cls_token=True")
        self.grid, self.mode = tuple(grid), mode
        self.pos_embed = nn.Parameter(torch.zeros(1, dim, *grid))
        self.cls_pos_embed = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_pos_embed, std=0.02)

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """Add the embedding to tokens (B, 1 + H*W, C)."""
        pos = self.pos_embed
        if tuple(grid) != self.grid:
            pos = F.interpolate(pos, size=tuple(grid), mode=self.mode, align_corners=False)
        return x + torch.cat([self.cls_pos_embed, pos.flatten(2).transpose(1, 2)], dim=1)


def sinusoid_table(num_positions: int, dim: int) -> torch.Tensor:
    """The 1-D sinusoid table of "Attention is all you need": (1, num_positions, dim), float32."""
    pos = torch.arange(num_positions, dtype=torch.float64)[:, None]
    rate = torch.pow(10000.0, 2 * (torch.arange(dim) // 2).double() / dim)
    angle = pos / rate
    angle[:, 0::2] = angle[:, 0::2].sin()
    angle[:, 1::2] = angle[:, 1::2].cos()
    return angle.float()[None]


class SinusoidalPosEmbed(nn.Module):
    """Fixed sinusoid table ``pos_embed`` (1, [1 +] H*W, C), a frozen parameter (as T2T-ViT / EAMLP).

    Another token count regenerates the table for that count (it is a function of the index).
    """

    def __init__(self, dim: int, grid: tuple[int, int], with_cls_token: bool = True, mode: str = "") -> None:
        super().__init__()
        self.dim, self.num_extra = dim, int(with_cls_token)
        n = self.num_extra + grid[0] * grid[1]
        self.pos_embed = nn.Parameter(sinusoid_table(n, dim), requires_grad=False)

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """Add the table to tokens (B, [1 +] H*W, C)."""
        n = x.shape[1]
        pos = self.pos_embed if n == self.pos_embed.shape[1] else sinusoid_table(n, self.dim).to(x)
        return x + pos

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        key = prefix + "pos_embed"
        if key in state_dict and state_dict[key].shape != self.pos_embed.shape:
            state_dict[key] = self.pos_embed.detach().clone()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
