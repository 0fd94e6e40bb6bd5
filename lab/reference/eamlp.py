"""EAMLP as the official code computes it (Guo et al. 2021): a T2T-ViT whose token layers and blocks use
external attention, heads permuted to (B, h, N, d), ``nn.Unfold`` soft splits; official key names."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from lab.reference.common import Mlp, classify, ea_normalise, vit_init_


def sinusoid_table(n_position: int, dim: int) -> Tensor:
    """T2T-ViT's fixed sinusoid table (1, n_position, dim), float32.

    Entry (p, j) is p / 10000**(2 * (j // 2) / dim) through sin (even j) or cos (odd j),
    computed in float64 and rounded once to float32.
    """
    j = torch.arange(dim)
    angle = torch.arange(n_position, dtype=torch.float64)[:, None] / 10000.0 ** (2.0 * (j // 2).double() / dim)
    return torch.where(j % 2 == 0, angle.sin(), angle.cos()).float().unsqueeze(0)


class _TokenEA(nn.Module):
    """Single-head external attention of a T2T token layer (memory 128), residual on q."""

    def __init__(self, dim: int, out_dim: int, drop: float = 0.1) -> None:
        super().__init__()
        self.q_linear = nn.Linear(dim, out_dim)
        self.linear_0 = nn.Linear(out_dim, 128, bias=False)
        self.linear_1 = nn.Linear(128, out_dim)
        self.proj = nn.Linear(out_dim, out_dim)
        self.attn_drop, self.proj_drop = nn.Dropout(drop), nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        q = self.q_linear(x)
        attn = self.attn_drop(ea_normalise(self.linear_0(q), token_dim=-2, memory_dim=-1))
        return q + self.proj_drop(self.proj(self.linear_1(attn)))


class _TokenLayer(nn.Module):
    """T2T token layer: ``x = EA(LN(x))``, then ``x + MLP(LN(x))`` (LN eps 1e-5)."""

    def __init__(self, dim: int, out_dim: int = 64) -> None:
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), _TokenEA(dim, out_dim)
        self.norm2, self.mlp = nn.LayerNorm(out_dim), Mlp(out_dim, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        x = self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _T2TStem(nn.Module):
    """Tokens-to-token stem: three soft splits (unfolds) with two EA token layers between."""

    def __init__(self, dim: int, token_dim: int = 64) -> None:
        super().__init__()
        self.soft_split0 = nn.Unfold(7, stride=4, padding=2)
        self.soft_split1, self.soft_split2 = nn.Unfold(3, stride=2, padding=1), nn.Unfold(3, stride=2, padding=1)
        self.attention1 = _TokenLayer(3 * 7 * 7, token_dim)
        self.attention2 = _TokenLayer(token_dim * 9, token_dim)
        self.project = nn.Linear(token_dim * 9, dim)

    @staticmethod
    def _grid(x: Tensor) -> Tensor:
        side = math.isqrt(x.shape[1])
        return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], side, side)

    def forward(self, x: Tensor) -> Tensor:
        x = self.attention1(self.soft_split0(x).transpose(1, 2))
        x = self.attention2(self.soft_split1(self._grid(x)).transpose(1, 2))
        return self.project(self.soft_split2(self._grid(x)).transpose(1, 2))


class _MultiHeadEA(nn.Module):
    """EAMLP multi-head external attention: C -> 4C, 4H heads of width C/H, memory 64."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = 4 * heads
        self.trans_dims = nn.Linear(dim, 4 * dim)
        self.linear_0 = nn.Linear(dim // heads, 64)
        self.linear_1 = nn.Linear(64, dim // heads)
        self.proj = nn.Linear(4 * dim, dim)
        self.attn_drop, self.proj_drop = nn.Dropout(0.0), nn.Dropout(0.0)

    def forward(self, x: Tensor) -> Tensor:
        b, n, _ = x.shape
        x = self.trans_dims(x).view(b, n, self.heads, -1).transpose(1, 2)
        attn = self.attn_drop(ea_normalise(self.linear_0(x), token_dim=-2, memory_dim=-1))
        return self.proj_drop(self.proj(self.linear_1(attn).transpose(1, 2).reshape(b, n, -1)))


class _EABlock(nn.Module):
    """Pre-norm block with multi-head EA (LayerNorm eps 1e-5)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), _MultiHeadEA(dim, heads)
        self.norm2, self.mlp = nn.LayerNorm(dim), Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class RefEAMLP(nn.Module):
    """EAMLP classifier: T2T-ViT with external attention in the stem and in the blocks.

    Args:
        dim: Embedding width C.
        depth: Number of blocks.
        heads: Heads H (the attention runs 4H heads of width C/H).
        mlp_ratio: Block MLP hidden ratio.
        num_classes: Classifier outputs.
        img_size: Input side; N = 1 + (img_size // 16)**2 (sizes the fixed ``pos_embed``).
    """

    def __init__(self, dim: int, depth: int, heads: int, mlp_ratio: float, num_classes: int = 1000,
                 img_size: int = 224) -> None:
        super().__init__()
        self.tokens_to_token = _T2TStem(dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(sinusoid_table((img_size // 16) ** 2 + 1, dim), requires_grad=False)
        self.blocks = nn.ModuleList(_EABlock(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        vit_init_(self, self.cls_token)
        with torch.no_grad():  # official init: token-layer linear_1 = linear_0 transposed (a copy here)
            for layer in (self.tokens_to_token.attention1, self.tokens_to_token.attention2):
                layer.attn.linear_1.weight.copy_(layer.attn.linear_0.weight.t().clone())

    def forward(self, x: Tensor) -> Tensor:
        """Return logits (B, num_classes) for images (B, 3, H, W)."""
        x = self.tokens_to_token(x)
        return classify(self, torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed)


def ref_eamlp(name: str, num_classes: int = 1000) -> RefEAMLP:
    """Build an EAMLP reference model: ``'7'``, ``'14'``, ``'19'`` or ``'24'``."""
    cfgs = {"7": (256, 7, 4, 2.0), "14": (384, 14, 6, 3.0), "19": (448, 19, 7, 3.0), "24": (512, 24, 8, 3.0)}
    return RefEAMLP(*cfgs[str(name)], num_classes=num_classes)
