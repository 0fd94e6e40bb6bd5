"""The two-layer perceptron shared by every block, and its inference form."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from backbones.models.deploy.base import DeployModule, bare_norm, folded_or_plain, frozen_linear
from backbones.models.deploy.fold import fold_affine, folds_norm, layer_norm_parts
from backbones.models.layers.dropout import Dropout


class Mlp(nn.Module):
    """``fc1 -> GELU -> dropout -> fc2 -> dropout`` over the last axis.

    Args:
        in_features: input (and, unless given, output) width.
        hidden_features: hidden width.
        out_features: output width (default ``in_features``).
        drop: dropout probability after the activation and after ``fc2``.
    """

    mixes_tokens = False  # per token: a block's last token-mixing branch comes before it
    wants_grid = False

    def __init__(self, in_features: int, hidden_features: int, out_features: int | None = None,
                 drop: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, out_features or in_features)
        self.drop = Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., in_features) -> (..., out_features)."""
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))

    def deploy_branch(self, norm: nn.Module, scale: float = 1.0) -> DeployModule:
        """The inference form of ``x + mlp(norm(scale x)) / scale`` (:class:`MlpBranch`)."""
        return folded_or_plain(MlpBranch, norm, self, scale)


class MlpBranch(DeployModule):
    """``x + fc2(GELU(fc1(norm(a x)))) / a`` with the norm's affine in ``fc1`` and 1/a in ``fc2``; the GELU and
    the residual add run in place on the layers' fresh outputs."""

    mixes_tokens = False

    @classmethod
    def covers(cls, norm: nn.Module, mlp: Mlp, a: float = 1.0) -> bool:
        """GELU, the width kept (a residual), and a LayerNorm (or none) before the MLP."""
        return (isinstance(mlp.act, nn.GELU) and mlp.fc1.in_features == mlp.fc2.out_features
                and folds_norm(norm, mlp.fc1.in_features, a))

    def __init__(self, norm: nn.Module, mlp: Mlp, a: float = 1.0) -> None:
        super().__init__()
        self.eps, gamma, beta = layer_norm_parts(norm, mlp.fc1.in_features, a)
        self.approximate = mlp.act.approximate
        w1, b1 = fold_affine(mlp.fc1.weight, mlp.fc1.bias, gamma, beta)
        self.fc1 = frozen_linear(w1, b1)
        self.fc2 = frozen_linear(mlp.fc2.weight / a, None if mlp.fc2.bias is None else mlp.fc2.bias / a)

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(..., C) -> (..., C)."""
        h = F.gelu(self.fc1(bare_norm(x, self.eps)), approximate=self.approximate)
        return self.fc2(h).add_(x)
