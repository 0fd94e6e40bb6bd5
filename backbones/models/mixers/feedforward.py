"""Feed-forward over patches (FF-only; Melas-Kyriazi 2021, "Do You Even Need Attention? A Stack of
Feed-Forward Layers Does Surprisingly Well on ImageNet").

Attention is replaced by an MLP over the token axis: for tokens x (B, N, C),
``y = fc2(GELU(fc1(LN_N(x^T))))^T`` where LN_N normalises over the N tokens (class token
included) of each channel and fc1 maps N -> 4N. The layer therefore needs N at build time.

Resize rule (opt-in, ``token_resize='bilinear'``): for another patch grid, every N-indexed weight
(LayerNorm affine, fc1 input columns, fc2 output rows and bias) is resized like a position embedding:
the class-token entry is kept and the grid part is interpolated bilinearly (align_corners=False) from
the build grid to the new grid; fc1's grid columns are also multiplied by (h w) / (h' w') so that a
sum over tokens keeps its magnitude. The hidden width stays 4N. The parameters therefore always keep
the build geometry (e.g. ImageNet's 197 tokens): to fine-tune a converted checkpoint at another
resolution, keep the backbone's ``img_size`` at the checkpoint's and set ``token_resize='bilinear'``;
inputs of any size divisible by the patch then run. Without the rule another N is an error.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from backbones.models.deploy.base import DeployModule, folded_or_plain, frozen_linear
from backbones.models.deploy.fold import fold_affine, folds_norm, layer_norm_parts
from backbones.models.layers.dropout import Dropout
from backbones.models.mixers.base import TokenMixer
from backbones.models.mixers.registry import register_mixer


def resize_token_axis(t: torch.Tensor, dim: int, grid: tuple[int, int], new_grid: tuple[int, int],
                      num_extra: int) -> torch.Tensor:
    """Resize axis ``dim`` of ``t`` (num_extra + h*w entries) to num_extra + h'*w' entries."""
    t = t.movedim(dim, -1)
    lead = t.shape[:-1]
    extra, g = t[..., :num_extra], t[..., num_extra:].reshape(-1, 1, *grid)
    g = F.interpolate(g.float(), size=tuple(new_grid), mode="bilinear", align_corners=False).to(t.dtype)
    out = torch.cat([extra, g.reshape(*lead, -1)], dim=-1)
    return out.movedim(-1, dim)


def raise_token_count(built: int, got: int) -> None:
    """The error for an input of another token count than the layer was built for."""
    raise ValueError(f"FeedForwardMixer was built for {built} tokens but got {got}; build the backbone for this input "
                     f"size (img_size) or opt in to token_resize='bilinear'")


@register_mixer
class FeedForwardMixer(TokenMixer):
    """Token MLP of FF-only, (B, N, C) -> (B, N, C); N is fixed at build time.

    Args:
        dim: channels C (the layer's weights do not depend on it).
        num_tokens: N the layer is built for (class token included).
        grid_size: the patch grid (h, w) of those tokens; ``num_tokens - h*w`` leading extra tokens.
        mlp_ratio: hidden width = int(N * mlp_ratio).
        proj_drop: dropout inside the MLP (FF-only trains with 0.1).
        norm_eps: LayerNorm epsilon.
        token_resize: ``None`` (another N is an error) or ``'bilinear'`` (the resize rule above).
    """

    settings = ("num_tokens", "grid_size", "proj_drop", "token_resize")
    channel_prenorm = False  # it normalises over the N tokens itself
    wants_grid = True  # resizing to another grid needs it

    def __init__(self, dim: int, num_tokens: int, grid_size: tuple[int, int] | None = None,
                 mlp_ratio: float = 4.0, proj_drop: float = 0.0, norm_eps: float = 1e-6,
                 token_resize: str | None = None) -> None:
        super().__init__()
        if token_resize not in (None, "bilinear"):
            raise ValueError(f"FeedForwardMixer: token_resize must be None or 'bilinear', got {token_resize!r}")
        self.num_tokens = num_tokens
        self.grid = tuple(grid_size) if grid_size is not None else None
        self.num_extra = num_tokens - (self.grid[0] * self.grid[1] if self.grid else num_tokens)
        self.token_resize = token_resize
        hidden = int(num_tokens * mlp_ratio)
        self.norm = nn.LayerNorm(num_tokens, eps=norm_eps)
        self.fc1 = nn.Linear(num_tokens, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, num_tokens)
        self.drop = Dropout(proj_drop)

    def _check_resizable(self, n: int, grid: tuple[int, int] | None) -> tuple[int, int]:
        if self.token_resize is None or self.grid is None or grid is None:
            raise_token_count(self.num_tokens, n)
        if self.num_extra + grid[0] * grid[1] != n:
            raise ValueError(f"FeedForwardMixer: {n} tokens do not match grid {grid} + {self.num_extra} extra")
        return grid

    def resized_weights(self, grid: tuple[int, int]) -> list[torch.Tensor]:
        """LayerNorm weight/bias, fc1 weight, fc2 weight/bias resized to ``grid`` (the rule above)."""
        r = lambda t, d: resize_token_axis(t, d, self.grid, grid, self.num_extra)  # noqa: E731
        w1 = r(self.fc1.weight, 1)
        ratio = (self.grid[0] * self.grid[1]) / (grid[0] * grid[1])
        w1 = torch.cat([w1[:, :self.num_extra], w1[:, self.num_extra:] * ratio], dim=1)
        return [r(self.norm.weight, 0), r(self.norm.bias, 0), w1, r(self.fc2.weight, 0), r(self.fc2.bias, 0)]

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, C): one contiguous transpose to (B, C, N), LayerNorm and MLP over N."""
        n = x.shape[1]
        if n == self.num_tokens:
            ln_w, ln_b, w1, w2, b2 = self.norm.weight, self.norm.bias, self.fc1.weight, self.fc2.weight, self.fc2.bias
        else:
            grid = self._check_resizable(n, grid)
            ln_w, ln_b, w1, w2, b2 = self.resized_weights(grid)
        y = F.layer_norm(x.transpose(1, 2).contiguous(), (n,), ln_w, ln_b, self.norm.eps)  # (B, C, N)
        h = self.drop(self.act(F.linear(y, w1, self.fc1.bias)))  # (B, C, hidden)
        return self.drop(F.linear(h, w2, b2)).transpose(1, 2)

    def deploy_branch(self, norm: nn.Module, scale: float = 1.0) -> DeployModule:
        """The inference form of ``x + self(scale x) / scale`` (:class:`TokenMlpBranch`)."""
        return folded_or_plain(TokenMlpBranch, norm, self, scale)


class TokenMlpBranch(DeployModule):
    """FF-only's branch at inference, for the N tokens the layer was built for, (B, N, C) -> (B, N, C).

    ``x + (fc2(GELU(fc1(LN_N(a x)^T))))^T / a`` with the LayerNorm's affine folded into ``fc1`` and 1/a into ``fc2``,
    computed in the tokens' own (B, N, C) layout: the token MLP is ``W @ X`` per sample (a batched product with the
    weight broadcast), so nothing is transposed or copied into another layout, and the residual is the
    accumulator of the second product. The statistics over N are two means over axis 1 (``var_mean`` over a
    non-innermost axis is several times slower on CPU). For int8 (:meth:`for_precision`) the two products become
    :func:`~backbones.models.deploy.base.frozen_linear` modules over the token axis of the transposed tokens
    (B, C, N), so that the quantizers see them.
    """

    @classmethod
    def covers(cls, norm: nn.Module, ff: FeedForwardMixer, a: float = 1.0) -> bool:
        """No channel norm before the layer, no token resize rule, GELU, and a LayerNorm (or none) over N."""
        return (isinstance(norm, nn.Identity) and ff.token_resize is None and isinstance(ff.act, nn.GELU)
                and folds_norm(ff.norm, ff.num_tokens, a))

    def __init__(self, norm: nn.Module, ff: FeedForwardMixer, a: float = 1.0) -> None:
        super().__init__()
        self.num_tokens, self.approximate = ff.num_tokens, ff.act.approximate
        self.eps, gamma, beta = layer_norm_parts(ff.norm, ff.num_tokens, a)
        w1, b1 = fold_affine(ff.fc1.weight, ff.fc1.bias, gamma, beta)
        self._buffers_from(w1=w1, b1=b1[:, None], w2=ff.fc2.weight / a, b2=ff.fc2.bias[:, None] / a)
        self.layout = "tokens"

    def for_precision(self, precision: str) -> None:
        """For ``int8``: the token MLP as two Linear modules over N (``fc1``, ``fc2``), run on (B, C, N)."""
        if precision == "int8" and self.layout == "tokens":
            self.fc1, self.fc2 = frozen_linear(self.w1, self.b1[:, 0]), frozen_linear(self.w2, self.b2[:, 0])
            for name in ("w1", "b1", "w2", "b2"):
                delattr(self, name)
            self.layout = "channels"

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, C); N must be the build token count."""
        if self.layout == "channels":
            return x + self._mixed_t(x).transpose(1, 2)
        return torch.baddbmm(x, self.w2.expand(x.shape[0], -1, -1), self._hidden(x)).add_(self.b2)

    def first_token(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, 1, C): only the first row of ``fc2``."""
        if self.layout == "channels":
            return x[:, :1] + self._mixed_t(x)[:, :, :1].transpose(1, 2)
        return torch.baddbmm(x[:, :1], self.w2[:1].expand(x.shape[0], -1, -1), self._hidden(x)).add_(self.b2[:1])

    def _normed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> LN over N without affine (folded into the first product)."""
        if x.shape[1] != self.num_tokens:
            raise_token_count(self.num_tokens, x.shape[1])
        d = x - x.mean(1, keepdim=True)
        return d.mul_(torch.rsqrt(d.square().mean(1, keepdim=True).add_(self.eps)))

    def _hidden(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> GELU(fc1(LN_N(x))) over the token axis, (B, hidden, C)."""
        h = torch.baddbmm(self.b1, self.w1.expand(x.shape[0], -1, -1), self._normed(x))
        return F.gelu(h, approximate=self.approximate)

    def _mixed_t(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> the token MLP's output transposed, (B, C, N), through the ``fc1`` / ``fc2`` modules."""
        h = F.gelu(self.fc1(self._normed(x).transpose(1, 2)), approximate=self.approximate)
        return self.fc2(h)
