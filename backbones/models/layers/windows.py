"""Non-overlapping window partition of a token grid, for window attention (Swin, Liu et al. 2021; as ViTDet uses
it in a plain ViT, Li et al. 2022).

A (B, h*w, C) token sequence on an h x w grid is padded at the bottom and right to multiples of the window side s
and cut into (B * nh * nw, s*s, C) windows (row-major windows, row-major tokens inside each). The padded tokens are
masked out as keys (:attr:`Windows.key_mask`), so a window's result does not depend on the padding: it equals
attention over the window's real tokens alone. :meth:`Windows.merge` puts the windows back and drops the padding.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


class Windows:
    """The geometry of one partition: grid (h, w), window side s, padded grid (H, W) = (h, w) rounded up to s.

    Args:
        grid: the patch grid (h, w) of the tokens.
        size: window side s (>= 1).
    """

    def __init__(self, grid: tuple[int, int], size: int) -> None:
        self.h, self.w = int(grid[0]), int(grid[1])
        self.s = int(size)
        self.ph, self.pw = (-self.h) % self.s, (-self.w) % self.s
        self.nh, self.nw = (self.h + self.ph) // self.s, (self.w + self.pw) // self.s

    def split(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens (B, h*w, C) -> windows (B * nh * nw, s*s, C), zero-padded.

        Raises:
            ValueError: the token count is not h*w (e.g. a class token: window attention needs patch tokens only).
        """
        b, n, c = x.shape
        if n != self.h * self.w:
            raise ValueError(f"window attention got {n} tokens for a {self.h}x{self.w} grid ({self.h * self.w} "
                             f"patch tokens): windows take patch tokens only (build the backbone with "
                             f"with_cls_token=False)")
        x = F.pad(x.view(b, self.h, self.w, c), (0, 0, 0, self.pw, 0, self.ph))
        x = x.view(b, self.nh, self.s, self.nw, self.s, c).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(b * self.nh * self.nw, self.s * self.s, c)

    def merge(self, x: torch.Tensor) -> torch.Tensor:
        """Windows (B * nh * nw, s*s, C) -> tokens (B, h*w, C), the padding dropped."""
        c = x.shape[-1]
        x = x.view(-1, self.nh, self.nw, self.s, self.s, c).permute(0, 1, 3, 2, 4, 5)
        x = x.reshape(-1, self.nh * self.s, self.nw * self.s, c)[:, :self.h, :self.w]
        return x.reshape(-1, self.h * self.w, c)

    def key_mask(self, batch: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor | None:
        """An additive mask (B * nh * nw, 1, 1, s*s): 0 on real keys, -inf on padded ones; None without padding."""
        if not (self.ph or self.pw):
            return None
        real = torch.zeros(self.nh * self.s, self.nw * self.s, dtype=torch.bool, device=device)
        real[:self.h, :self.w] = True
        real = real.view(self.nh, self.s, self.nw, self.s).permute(0, 2, 1, 3).reshape(1, -1, self.s * self.s)
        mask = torch.zeros(real.shape, dtype=dtype, device=device).masked_fill_(~real, float("-inf"))
        return mask.expand(batch, -1, -1).reshape(-1, 1, 1, self.s * self.s)
