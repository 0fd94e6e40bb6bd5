"""The two-layer perceptron shared by every block."""
from __future__ import annotations

import torch
import torch.nn as nn

from .dropout import Dropout


class Mlp(nn.Module):
    """``fc1 -> GELU -> dropout -> fc2 -> dropout`` over the last axis.

    Args:
        in_features: input (and, unless given, output) width.
        hidden_features: hidden width.
        out_features: output width (default ``in_features``).
        drop: dropout probability after the activation and after ``fc2``.
    """

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
