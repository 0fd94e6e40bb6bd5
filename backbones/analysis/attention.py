"""Attention analysis shared by the analysis commands (``backbones-attention-similarity``, ``backbones-vis-attention``)
and the lab: maps read from outside the
model, through forward hooks (:func:`collect_maps`), so the model keeps no analysis state.

DeepViT (Zhou et al. 2021, arXiv 2103.11886, Sec. 3, Eq. 3) diagnoses "attention collapse" with the
cross-block similarity of the attention maps A (H, T, T), rows indexed by the query (output token),
columns by the key (input token):

    M^{p,q}_{h,t} = A^p_{h,:,t} . A^q_{h,:,t} / (|A^p_{h,:,t}| |A^q_{h,:,t}|)

``A_{h,:,t}`` is, in the paper's words, "a T-dimensional vector representing how much the input token t
contributes to each of the T output tokens": the t-th *column*, so the cosine runs over the query axis,
one value per head h and key token t. (A row, the cosine over the key axis, would compare where each
query looks instead; the paper's text fixes the column.) :func:`map_cosine` is that M (per image);
:func:`block_similarity` averages it over heads, tokens and images for every pair of blocks, and a block
whose similarity to the previous block exceeds the threshold is a "similar block" (:func:`similar_blocks`;
0.9, the 90% level the paper's Fig. 3 discusses; the official repository holds no analysis code that we
could find). The paper's Fig. 3(c) compares the heads of one block the same way (:func:`head_similarity`).
Re-attention's recorded map is the re-generated one (heads mixed, BatchNorm), the map that multiplies V.

External attention maps tokens to S memory units, A (B, h, N, S), whose unit indices are unrelated
from one block to the next; the analogous statistic compares the token affinities that the memory
induces, A A^T (B, h, N, N), row-normalised: two tokens are close when they use the same units.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn as nn

from backbones.models.mixers.base import TokenMixer


def mixers_with_maps(model: nn.Module) -> list[nn.Module]:
    """The mixers of ``model`` that compute attention maps (``attention_maps(x)``, :mod:`backbones.models.mixers`),
    in order."""
    return [m for m in model.modules() if isinstance(m, TokenMixer) and callable(getattr(m, "attention_maps", None))]


@contextlib.contextmanager
def capture_maps(model: nn.Module) -> Iterator[list[list[tuple[torch.Tensor, torch.Tensor]]]]:
    """While inside, every forward of a mixer with maps also computes them from the mixer's input (a forward
    pre-hook calling its ``attention_maps``) and appends ``(map, raw map)`` to that mixer's list; the hooks are
    removed on exit. Yields one list per mixer, in :func:`mixers_with_maps` order."""
    mixers = mixers_with_maps(model)
    if not mixers:
        raise ValueError("the model has no mixer with an attention map (FF-only has none)")
    found: list[list[tuple[torch.Tensor, torch.Tensor]]] = [[] for _ in mixers]

    def hook(i: int):  # noqa: ANN202
        def keep(module: nn.Module, args: tuple) -> None:
            with torch.no_grad():
                attn, raw = module.attention_maps(args[0])
            found[i].append((attn.detach(), raw.detach()))
        return keep

    handles = [m.register_forward_pre_hook(hook(i)) for i, m in enumerate(mixers)]
    try:
        yield found
    finally:
        for h in handles:
            h.remove()


def token_affinity(attn: torch.Tensor) -> torch.Tensor:
    """A (B, h, N, M) -> an (B, h, N, N) token-to-token map: itself if M == N, else row-normalised A A^T."""
    if attn.shape[-1] == attn.shape[-2]:
        return attn
    aff = attn @ attn.transpose(-2, -1)
    return aff / aff.sum(-1, keepdim=True).clamp_min(1e-12)


@torch.no_grad()
def collect_maps(model: nn.Module, images: torch.Tensor, batch: int = 16, raw: bool = False) -> list[torch.Tensor]:
    """Token-affinity maps (I, h, N, N) of every mixer with maps for ``images`` (I, 3, H, W), read through
    :func:`capture_maps`: the maps that weight the values, or with ``raw`` the maps before a transform
    (Re-attention's softmax maps)."""
    model.eval()
    with capture_maps(model) as found:
        for chunk in images.split(batch):
            model(chunk)
    return [torch.cat([token_affinity((r if raw else a).float()) for a, r in maps]) for maps in found]


def map_cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """DeepViT's M_{h,t} (module docstring): cosine between column t of ``a`` and of ``b``.

    Args:
        a, b: attention maps (..., N, M), e.g. (I, h, N, M): I images, h heads, N queries, M keys.

    Returns:
        (..., M), e.g. (I, h, M): 1 where key token t contributes to every query in the same proportions in
        both maps, 0 where the two columns are orthogonal (an all-zero column counts as orthogonal).
    """
    if a.shape != b.shape:
        raise ValueError(f"map_cosine: maps of different shapes {tuple(a.shape)} and {tuple(b.shape)}")
    cos = nn.functional.normalize
    return (cos(a, dim=-2) * cos(b, dim=-2)).sum(-2)  # columns: the query axis is dim -2


def block_similarity(maps: list[torch.Tensor]) -> torch.Tensor:
    """(L, L) similarity of every pair of blocks: :func:`map_cosine` averaged over images, heads and tokens.

    Args:
        maps: one (I, h, N, M) map per block, as :func:`collect_maps` returns them.
    """
    n = len(maps)
    sim = torch.ones(n, n)
    for p in range(n):
        for q in range(p + 1, n):
            sim[p, q] = sim[q, p] = map_cosine(maps[p], maps[q]).mean()
    return sim


def head_similarity(maps: list[torch.Tensor]) -> list[float]:
    """Cross-head similarity inside each block (DeepViT Fig. 3c): :func:`map_cosine` between the maps of
    heads h != h' of one block, averaged over head pairs, tokens and images; one value per block.

    Args:
        maps: one (I, h, N, M) map per block; blocks with a single head give nan.
    """
    out = []
    for m in maps:
        h = m.shape[1]
        if h < 2:
            out.append(float("nan"))
            continue
        pairs = [map_cosine(m[:, i], m[:, j]).mean() for i in range(h) for j in range(h) if i != j]
        out.append(float(torch.stack(pairs).mean()))
    return out


def similar_blocks(sim: torch.Tensor, threshold: float = 0.9) -> int:
    """How many blocks have a map whose similarity to the previous block's exceeds ``threshold``."""
    return int((sim.diagonal(offset=1) > threshold).sum())


def similarity_figures(maps: list[torch.Tensor], raw: list[torch.Tensor] | None = None,
                       threshold: float = 0.9) -> dict:
    """DeepViT's collapse figures of one model's maps: ``adjacent`` (each block's similarity to the next),
    ``similar_blocks``, ``matrix`` (L, L), ``head_similarity``, ``threshold``; when the softmax maps ``raw``
    differ from the maps (Re-attention re-generates its maps), the same figures of ``raw`` under
    ``before_transform``.

    Args:
        maps: one (I, h, N, M) map per block (:func:`collect_maps`).
        raw: the maps before any map transform (``collect_maps(..., raw=True)``).
        threshold: a block is "similar" above it.
    """

    def figures(ms: list[torch.Tensor]) -> dict:
        sim = block_similarity(ms)
        return dict(adjacent=sim.diagonal(offset=1).tolist(), similar_blocks=similar_blocks(sim, threshold),
                    matrix=sim.tolist(), head_similarity=head_similarity(ms))

    result = dict(figures(maps), threshold=threshold)
    if raw is not None and any(not torch.equal(a, b) for a, b in zip(maps, raw)):
        result["before_transform"] = figures(raw)
    return result


def class_token_map(maps: list[torch.Tensor], block: int, grid: tuple[int, int]) -> torch.Tensor:
    """(h, w) map of the class token's attention to the patches in ``block`` (image 0, mean over heads).

    Args:
        maps: one (I, h, 1 + h*w, M) map per block, the class token first (:func:`collect_maps`).
        block: the block (negative counts from the end).
        grid: the patch grid (h, w).
    """
    return maps[block][0, :, 0, 1:].mean(0).reshape(grid)
