"""The ViT initialisation (timm's): trunc-normal(0.02) tokens and linear weights, zero biases, unit LayerNorms."""
from __future__ import annotations

from torch import Tensor, nn


def vit_init_(model: nn.Module, *tokens: Tensor) -> None:
    """Initialise ``model`` in place: every ``nn.Linear`` weight and each of ``tokens`` trunc-normal (std 0.02),
    linear biases zero, ``nn.LayerNorm`` weights one and biases zero."""
    for t in tokens:
        nn.init.trunc_normal_(t, std=0.02)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
