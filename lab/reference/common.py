"""Shared pieces of the straightforward reference models (official layouts and key names)."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from backbones.models.layers.init import vit_init_  # noqa: F401  (the references' init, re-exported)


class Mlp(nn.Module):
    """timm-style MLP: ``fc1 -> GELU -> dropout -> fc2 -> dropout``."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.0) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class PatchEmbed(nn.Module):
    """Non-overlapping patch projection (key ``proj``), output (B, C, H/p, W/p)."""

    def __init__(self, dim: int, patch: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x)


def ea_normalise(logits: Tensor, token_dim: int, memory_dim: int) -> Tensor:
    """External-attention double normalisation: softmax over tokens, then L1 over memory."""
    attn = logits.softmax(dim=token_dim)
    return attn / (1e-9 + attn.sum(dim=memory_dim, keepdim=True))


def classify(model: nn.Module, x: Tensor) -> Tensor:
    """Run ``model.blocks``, the final norm and the head on the class token."""
    for blk in model.blocks:
        x = blk(x)
    return model.head(model.norm(x)[:, 0])


_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm)


def randomize_(model: nn.Module, seed: int = 0, skip_frozen: bool = False) -> nn.Module:
    """Fill all parameters and BatchNorm statistics with deterministic random values.

    Norm weights ~ 1 + N(0, 0.1) and norm biases ~ N(0, 0.1); conv weights ~ N(0, 1/fan_in)
    (keeps stem activations O(1)); everything else (Linear weights/biases, tokens,
    position tables, ...) ~ N(0, 0.02). BatchNorm running_mean ~ N(0, 0.1), running_var
    ~ U(0.5, 1.5). Drawn in float64 from a private generator (global RNG untouched).

    Args:
        model: Module to modify in place.
        seed: Seed of the generator.
        skip_frozen: Leave ``requires_grad=False`` parameters (EAMLP's sinusoid ``pos_embed``).

    Returns:
        The same ``model``.
    """
    gen = torch.Generator().manual_seed(seed)

    def randn(t: Tensor) -> Tensor:
        return torch.randn(t.shape, generator=gen, dtype=torch.float64)

    with torch.no_grad():
        for mod in model.modules():
            is_norm, is_conv = isinstance(mod, _NORMS), isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.Conv3d))
            for name, p in mod.named_parameters(recurse=False):
                if skip_frozen and not p.requires_grad:
                    continue
                if is_norm:
                    p.copy_(1.0 + 0.1 * randn(p) if name == "weight" else 0.1 * randn(p))
                elif is_conv and name == "weight":
                    p.copy_(randn(p) / math.sqrt(p[0].numel()))
                else:
                    p.copy_(0.02 * randn(p))
            if isinstance(mod, nn.modules.batchnorm._BatchNorm) and mod.running_mean is not None:
                mod.running_mean.copy_(0.1 * randn(mod.running_mean))
                mod.running_var.copy_(0.5 + torch.rand(mod.running_var.shape, generator=gen, dtype=torch.float64))
    return model
