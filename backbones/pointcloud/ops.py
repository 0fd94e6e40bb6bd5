"""Sampling and grouping for point clouds, vectorised over the batch, in pure torch (CPU or GPU).

* :func:`farthest_point_sample` - iterative farthest-point sampling (as PointNet++ / PCT use it):
  m distinct indices that spread over the cloud, starting from ``start`` (index 0 by default, as
  open3d's ``farthest_point_down_sample``).
* :func:`knn` - the k nearest reference points of every query point (squared Euclidean distance).
* :func:`pairwise_sqdist` - all squared distances between two batched clouds, one matmul.
* :func:`gather_points` - index a (B, N, C) tensor with (B, ...) indices.
"""
from __future__ import annotations

import torch


def gather_points(points: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """points (B, N, C), idx (B, *S) -> (B, *S, C)."""
    b = points.shape[0]
    flat = idx.reshape(b, -1)
    out = torch.gather(points, 1, flat[..., None].expand(-1, -1, points.shape[-1]))
    return out.reshape(*idx.shape, points.shape[-1])


def pairwise_sqdist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared distances (B, M, N) between a (B, M, 3) and b (B, N, 3) as one batched matmul.

    ``|a|^2 - 2 a.b + |b|^2`` with the norms folded into two extra columns ([a, |a|^2, 1] . [-2b, 1, |b|^2]):
    no broadcast passes over the (M, N) result; clamped at 0 against rounding.
    """
    one_a, one_b = torch.ones_like(a[..., :1]), torch.ones_like(b[..., :1])
    aa = torch.cat([a, a.square().sum(-1, keepdim=True), one_a], dim=-1)
    bb = torch.cat([-2 * b, one_b, b.square().sum(-1, keepdim=True)], dim=-1)
    return torch.bmm(aa, bb.transpose(1, 2)).clamp_min_(0)


#: farthest_point_sample precomputes the (B, N, N) distances up to this many elements (256 MB in float32).
FPS_MATRIX_LIMIT = 64 * 2 ** 20


def farthest_point_sample(xyz: torch.Tensor, m: int, start: int | torch.Tensor = 0) -> torch.Tensor:
    """Indices (B, m) of m farthest-point samples of xyz (B, N, 3).

    Each step adds the point farthest from those already chosen: a (B, N) minimum and arg-max per
    step, O(m N) per cloud, with no Python loop over the batch. Small clouds (B N^2 up to
    :data:`FPS_MATRIX_LIMIT`) precompute all squared distances with one matmul, so a step is one row
    gather, a minimum and an arg-max (3 ops); larger ones recompute the distances to the new sample
    on contiguous (B, 3, N) coordinate planes (6 ops); docs/findings.md gives their cost. In float32
    the matrix's rounding can break near-ties differently from the exact difference (another valid
    sample).

    Raises:
        ValueError: m is larger than the number of points.
    """
    b, n, _ = xyz.shape
    if not 0 < m <= n:
        raise ValueError(f"cannot sample {m} distinct points from a cloud of {n}")
    idx = torch.empty(b, m, dtype=torch.long, device=xyz.device)
    nearest = torch.full((b, n), float("inf"), dtype=xyz.dtype, device=xyz.device)
    far = torch.as_tensor(start, device=xyz.device).expand(b).reshape(b, 1).clone()
    if b * n * n <= FPS_MATRIX_LIMIT:
        rows = pairwise_sqdist(xyz, xyz).view(b * n, n)
        base = torch.arange(b, device=xyz.device)[:, None] * n
        for i in range(m):
            idx[:, i:i + 1] = far
            torch.minimum(nearest, rows.index_select(0, (base + far).view(-1)), out=nearest)
            far = nearest.argmax(-1, keepdim=True)
        return idx
    pts = xyz.transpose(1, 2).contiguous()  # (B, 3, N): the per-step update runs on contiguous (B, N) planes
    diff = torch.empty_like(pts)
    for i in range(m):
        idx[:, i:i + 1] = far
        torch.sub(pts, torch.gather(pts, 2, far[:, None].expand(b, 3, 1)), out=diff)
        torch.minimum(nearest, diff.square_().sum(1), out=nearest)
        far = nearest.argmax(-1, keepdim=True)
    return idx


def knn(query: torch.Tensor, ref: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k nearest points of ``ref`` (B, N, 3) for every point of ``query`` (B, M, 3).

    Returns:
        (squared distances (B, M, k), indices into ref (B, M, k)), nearest first.
    """
    if k > ref.shape[1]:
        raise ValueError(f"k = {k} exceeds the {ref.shape[1]} reference points")
    dist, idx = pairwise_sqdist(query, ref).topk(k, dim=-1, largest=False, sorted=True)
    return dist, idx
