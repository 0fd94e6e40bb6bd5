"""Dropout with a cheaper mask on the CPU.

``nn.Dropout`` draws its mask with ``bernoulli_``. Comparing ``torch.rand_like`` with ``p`` draws the
same Bernoulli(1 - p) mask, scaled in place, and one product applies it (docs/benchmark.md lists it
among the kept choices). Same semantics as ``nn.Dropout``: identity in eval mode or for p = 0, kept values scaled
by 1 / (1 - p); only the random stream differs.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class Dropout(nn.Dropout):
    """Drop-in ``nn.Dropout`` (same arguments, attributes and state) with a uniform-threshold mask on CPU."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(...) -> (...)."""
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0 or x.device.type != "cpu" or not x.is_floating_point():
            return F.dropout(x, self.p, True, self.inplace)
        with torch.no_grad():  # the mask is a constant of the product: autograd saves it, nothing else
            mask = torch.rand_like(x).ge_(self.p).mul_(1.0 / (1.0 - self.p))
        return x.mul_(mask) if self.inplace else x * mask
