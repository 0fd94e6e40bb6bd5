"""Attention analysis shared by tools/analysis/{attention_similarity,vis_attention}.py.

DeepViT (Zhou et al. 2021) diagnoses "attention collapse" with the cosine similarity between the
attention maps of block p and block q: for every head h and token t, cos(A^p[h, :, t], A^q[h, :, t])
(the t-th column: how much every query attends to token t), averaged over heads, tokens and images.
Blocks whose map is nearly the same as the previous block's ("similar blocks") add nothing.

External attention maps tokens to S memory units, A (B, h, N, S), whose unit indices are unrelated
from one block to the next; the analogous statistic compares the token affinities that the memory
induces, A A^T (B, h, N, N), row-normalised: two tokens are close when they use the same units.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .mixers.base import TokenMixer


def set_recording(model: nn.Module, on: bool = True) -> list[nn.Module]:
    """Switch attention-map recording on every mixer that supports it; returns those mixers in order."""
    mixers = [m for m in model.modules() if isinstance(m, TokenMixer) and m.records_attention]
    for m in mixers:
        m.record_attention = on
        m.attention = None
    return mixers


def token_affinity(attn: torch.Tensor) -> torch.Tensor:
    """A (B, h, N, M) -> an (B, h, N, N) token-to-token map: itself if M == N, else row-normalised A A^T."""
    if attn.shape[-1] == attn.shape[-2]:
        return attn
    aff = attn @ attn.transpose(-2, -1)
    return aff / aff.sum(-1, keepdim=True).clamp_min(1e-12)


@torch.no_grad()
def collect_maps(model: nn.Module, images: torch.Tensor, batch: int = 16) -> list[torch.Tensor]:
    """Token-affinity maps (I, h, N, N) of every recording mixer for ``images`` (I, 3, H, W)."""
    mixers = set_recording(model)
    if not mixers:
        raise ValueError("the model has no mixer with an attention map (FF-only has none)")
    model.eval()
    per_block: list[list[torch.Tensor]] = [[] for _ in mixers]
    for chunk in images.split(batch):
        model(chunk)
        for i, m in enumerate(mixers):
            per_block[i].append(token_affinity(m.attention.float()))
    set_recording(model, False)
    return [torch.cat(maps) for maps in per_block]


def block_similarity(maps: list[torch.Tensor]) -> torch.Tensor:
    """(L, L) mean cosine similarity between the attention maps of every pair of blocks."""
    cols = [nn.functional.normalize(m.transpose(-2, -1), dim=-1) for m in maps]  # column t of each head
    n = len(maps)
    sim = torch.ones(n, n)
    for p in range(n):
        for q in range(p + 1, n):
            sim[p, q] = sim[q, p] = (cols[p] * cols[q]).sum(-1).mean()
    return sim


def similar_blocks(sim: torch.Tensor, threshold: float = 0.9) -> int:
    """How many blocks have a map whose similarity to the previous block's exceeds ``threshold``."""
    return int((sim.diagonal(offset=1) > threshold).sum())
