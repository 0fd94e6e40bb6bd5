"""Sampling and grouping for point clouds, vectorised over the batch, in pure torch (CPU or GPU).

* :func:`farthest_point_sample` - iterative farthest-point sampling (as PointNet++ / PCT use it):
  m distinct indices that spread over the cloud, starting from ``start`` (index 0 by default, as
  open3d's ``farthest_point_down_sample``).
* :func:`knn` - the k nearest reference points of every query point (squared Euclidean distance).
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


def farthest_point_sample(xyz: torch.Tensor, m: int, start: int | torch.Tensor = 0) -> torch.Tensor:
    """Indices (B, m) of m farthest-point samples of xyz (B, N, 3).

    Each step adds the point farthest from those already chosen; one (B, N) distance update per step,
    so the cost is O(m N) per cloud with no Python loop over the batch.

    Raises:
        ValueError: m is larger than the number of points.
    """
    b, n, _ = xyz.shape
    if not 0 < m <= n:
        raise ValueError(f"cannot sample {m} distinct points from a cloud of {n}")
    idx = torch.empty(b, m, dtype=torch.long, device=xyz.device)
    nearest = torch.full((b, n), float("inf"), dtype=xyz.dtype, device=xyz.device)
    far = torch.as_tensor(start, device=xyz.device).expand(b).clone()
    rows = torch.arange(b, device=xyz.device)
    for i in range(m):
        idx[:, i] = far
        d = (xyz - xyz[rows, far][:, None]).square().sum(-1)
        nearest = torch.minimum(nearest, d)
        far = nearest.argmax(-1)
    return idx


def knn(query: torch.Tensor, ref: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k nearest points of ``ref`` (B, N, 3) for every point of ``query`` (B, M, 3).

    Returns:
        (squared distances (B, M, k), indices into ref (B, M, k)), nearest first.
    """
    if k > ref.shape[1]:
        raise ValueError(f"k = {k} exceeds the {ref.shape[1]} reference points")
    d = (query.square().sum(-1, keepdim=True) - 2 * query @ ref.transpose(1, 2)
         + ref.square().sum(-1)[:, None]).clamp_min_(0)
    dist, idx = d.topk(k, dim=-1, largest=False, sorted=True)
    return dist, idx
