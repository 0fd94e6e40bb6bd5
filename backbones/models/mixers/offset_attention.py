"""Offset-attention (Guo et al. 2021, "PCT: Point Cloud Transformer", Computational Visual Media).

Self-attention over point tokens whose output is the *offset* between the input and the attended
features, passed through a Linear-BatchNorm-ReLU: ``y = LBR(x - A^T v)``; the backbone adds the
residual, ``x + y``. Query and key share one projection (C -> C / 4, no bias), so the energy
``q q^T`` is symmetric; it is not scaled. The map is normalised twice: softmax over the keys, then
L1 over the queries (``A[i, j] /= sum_i A[i, j]``), and token j receives ``sum_i A[i, j] v_i``.
The layer normalises by itself, so the block puts no LayerNorm in front of it.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from backbones.models.layers.dropout import Dropout
from backbones.models.mixers.base import TokenMixer
from backbones.models.mixers.registry import register_mixer


@register_mixer
class OffsetAttention(TokenMixer):
    """PCT's offset-attention, (B, N, C) -> (B, N, C) (the offset branch; the caller adds ``x``).

    Args:
        dim: channels C.
        qk_ratio: width of the shared query/key projection as a fraction of C (1/4 in PCT).
        attn_drop: dropout on the normalised map.
        eps: the L1 normalisation's epsilon.
    """

    settings = ("attn_drop",)
    channel_prenorm = False  # it normalises by itself (BatchNorm after the offset)

    def __init__(self, dim: int, qk_ratio: float = 0.25, attn_drop: float = 0.0, eps: float = 1e-9) -> None:
        super().__init__()
        self.qk = nn.Linear(dim, max(1, int(dim * qk_ratio)), bias=False)  # shared by query and key
        self.v = nn.Linear(dim, dim)
        self.attn_drop = Dropout(attn_drop)
        self.trans = nn.Linear(dim, dim, bias=False)  # a bias before BatchNorm would be cancelled
        self.norm = nn.BatchNorm1d(dim)
        self.act = nn.ReLU(inplace=True)
        self.eps = eps

    def _map(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> (B, N_query, N_key): softmax over keys, then L1 over the queries."""
        q = self.qk(x)  # (B, N, C/4); k = q
        attn = (q @ q.transpose(1, 2)).softmax(dim=-1)  # rows sum to 1
        return self.attn_drop(attn / (self.eps + attn.sum(dim=1, keepdim=True)))

    def attention_maps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The map of ``forward(x)`` as (B, 1, N, N), twice (there is no transform of it)."""
        attn = self._map(x)[:, None]
        return attn, attn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> (B, N, C)."""
        b, n, c = x.shape
        attn = self._map(x)
        out = attn.transpose(1, 2) @ self.v(x)  # token j: sum_i A[i, j] v_i
        offset = self.trans(x - out).reshape(b * n, c)
        return self.act(self.norm(offset)).view(b, n, c)
