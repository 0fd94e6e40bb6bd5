"""Point-cloud data transforms (registered in mmengine's root ``TRANSFORMS``).

A result dict carries ``points`` (N, C) float32 - xyz, then normals when present -, optionally
``gt_parts`` (N,) int64 per-point part labels, ``gt_label`` (int), ``category`` (int) and
``parts`` (the category's part ids). Random transforms draw from NumPy's global generator
(seeded per worker by mmengine). Normals follow every geometric change.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.registry import TRANSFORMS
from mmengine.structures import BaseDataElement

from backbones.pointcloud.io import PointFileError, estimate_normals, read_point_file


@TRANSFORMS.register_module()
class LoadPointCloud(BaseTransform):
    """Read ``results['points_path']`` (any format of :func:`~backbones.pointcloud.io.read_point_file`).

    Args:
        columns: accepted column counts of text / npy files (e.g. ``(6,)`` for ModelNet, ``(7,)`` for
            ShapeNetPart), None for any.
        with_part_labels: the last column holds per-point part labels (ShapeNetPart); each must be one of
            ``results['parts']``.
        use_normals: keep (or estimate with open3d, if ``estimate_normals``) normals: ``points`` is (N, 6).
            False: ``points`` is (N, 3).
        estimate_normals: estimate missing normals instead of raising.
        mesh_points: surface points sampled from a mesh file.
        cache_dir: cache of sampled meshes (None: no cache).
    """

    def __init__(self, columns: Sequence[int] | None = None, with_part_labels: bool = False, use_normals: bool = True,
                 estimate_normals: bool = True, mesh_points: int = 10000, cache_dir: str | None = None) -> None:
        self.columns = tuple(columns) if columns is not None else None
        self.with_part_labels, self.use_normals = with_part_labels, use_normals
        self.estimate, self.mesh_points, self.cache_dir = estimate_normals, mesh_points, cache_dir

    def transform(self, results: dict) -> dict:
        path = results["points_path"]
        arr = read_point_file(path, self.columns, self.mesh_points, self.cache_dir)
        if self.with_part_labels:
            labels = arr[:, -1]
            if not np.array_equal(labels, np.round(labels)):
                raise PointFileError(f"{path}: part labels (last column) are not integers")
            labels = labels.astype(np.int64)
            allowed = results.get("parts")
            if allowed is not None:
                bad = np.setdiff1d(np.unique(labels), np.asarray(allowed))
                if bad.size:
                    raise PointFileError(f"{path}: part labels {bad.tolist()} are not parts of category "
                                         f"{results.get('category_name', results.get('category'))!r} "
                                         f"(its parts: {list(allowed)})")
            results["gt_parts"], arr = labels, arr[:, :-1]
        if self.use_normals and arr.shape[1] < 6:
            if not self.estimate:
                raise PointFileError(f"{path}: {arr.shape[1]} columns, normals needed (use_normals=True)")
            arr = estimate_normals(arr)
        results["points"] = np.ascontiguousarray(arr[:, :6] if self.use_normals else arr[:, :3], dtype=np.float32)
        return results


@TRANSFORMS.register_module()
class PointSample(BaseTransform):
    """Sample exactly ``num_points`` points (and their part labels).

    Clouds with more points: a random subset without replacement (``random=True``), or a fixed-seed
    subset (``random=False``, for evaluation: the same points every time). Clouds with fewer points:
    ``on_fewer='resample'`` keeps every point and draws the missing ones again with replacement;
    ``on_fewer='error'`` raises, naming the file.
    """

    def __init__(self, num_points: int, random: bool = True, on_fewer: str = "resample") -> None:
        if on_fewer not in ("resample", "error"):
            raise ValueError(f"PointSample: on_fewer must be 'resample' or 'error', got {on_fewer!r}")
        self.num_points, self.random, self.on_fewer = num_points, random, on_fewer

    def transform(self, results: dict) -> dict:
        n = len(results["points"])
        rng = np.random if self.random else np.random.default_rng(0)
        if n >= self.num_points:
            idx = rng.permutation(n)[:self.num_points]
        elif self.on_fewer == "error":
            raise PointFileError(f"{results.get('points_path')}: {n} points, fewer than the {self.num_points} "
                                 f"requested (PointSample on_fewer='error')")
        else:
            idx = np.concatenate([rng.permutation(n), rng.randint(0, n, self.num_points - n) if self.random
                                  else rng.integers(0, n, self.num_points - n)])
        if not self.random:
            idx = np.sort(idx)
        results["points"] = results["points"][idx]
        if "gt_parts" in results:
            results["gt_parts"] = results["gt_parts"][idx]
        return results


@TRANSFORMS.register_module()
class NormalizeToUnitSphere(BaseTransform):
    """Centre the xyz on their centroid and scale them into the unit sphere (max norm 1)."""

    def transform(self, results: dict) -> dict:
        pts = results["points"].copy()
        xyz = pts[:, :3] - pts[:, :3].mean(0)
        radius = np.linalg.norm(xyz, axis=1).max()
        if radius <= 0:
            raise PointFileError(f"{results.get('points_path')}: all points coincide, cannot normalise")
        pts[:, :3] = xyz / radius
        results["points"] = pts
        return results


def _apply_linear(pts: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """xyz -> xyz M^T; normals -> normals M^{-1} (the inverse transpose, renormalised)."""
    out = pts.copy()
    out[:, :3] = pts[:, :3] @ mat.T
    if pts.shape[1] >= 6:
        n = pts[:, 3:6] @ np.linalg.inv(mat)
        out[:, 3:6] = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    return out


@TRANSFORMS.register_module()
class RandomScale(BaseTransform):
    """Scale xyz by factors drawn from U(low, high), one per axis if ``anisotropic`` (PCT: 2/3..3/2)."""

    def __init__(self, scale: Sequence[float] = (2 / 3, 3 / 2), anisotropic: bool = True) -> None:
        self.low, self.high = scale
        self.anisotropic = anisotropic

    def transform(self, results: dict) -> dict:
        s = np.random.uniform(self.low, self.high, 3 if self.anisotropic else 1) * np.ones(3)
        results["points"] = _apply_linear(results["points"], np.diag(s)).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class RandomTranslate(BaseTransform):
    """Shift xyz by a vector drawn from U(-shift, shift) per axis (PCT: 0.2)."""

    def __init__(self, shift: float = 0.2) -> None:
        self.shift = shift

    def transform(self, results: dict) -> dict:
        pts = results["points"].copy()
        pts[:, :3] += np.random.uniform(-self.shift, self.shift, 3).astype(np.float32)
        results["points"] = pts
        return results


@TRANSFORMS.register_module()
class RandomJitter(BaseTransform):
    """Add clipped Gaussian noise N(0, sigma) to every coordinate (normals unchanged)."""

    def __init__(self, sigma: float = 0.01, clip: float = 0.05) -> None:
        self.sigma, self.clip = sigma, clip

    def transform(self, results: dict) -> dict:
        pts = results["points"].copy()
        noise = np.clip(self.sigma * np.random.randn(len(pts), 3), -self.clip, self.clip)
        pts[:, :3] += noise.astype(np.float32)
        results["points"] = pts
        return results


@TRANSFORMS.register_module()
class RandomRotateUp(BaseTransform):
    """Rotate about the up axis ('x', 'y' or 'z'; ModelNet and ShapeNetPart are y-up) by U(angle range)."""

    def __init__(self, axis: str = "y", angle: Sequence[float] = (-np.pi, np.pi)) -> None:
        if axis not in ("x", "y", "z"):
            raise ValueError(f"RandomRotateUp: axis must be 'x', 'y' or 'z', got {axis!r}")
        self.axis, self.angle = "xyz".index(axis), tuple(angle)

    def transform(self, results: dict) -> dict:
        t = np.random.uniform(*self.angle)
        c, s = np.cos(t), np.sin(t)
        i, j = [a for a in range(3) if a != self.axis]
        mat = np.eye(3)
        mat[i, i], mat[i, j], mat[j, i], mat[j, j] = c, -s, s, c
        results["points"] = _apply_linear(results["points"], mat).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class RandomPointDropout(BaseTransform):
    """Drop a random fraction U(0, max_ratio) of the points, replacing them by the first point (N is kept)."""

    def __init__(self, max_ratio: float = 0.875) -> None:
        self.max_ratio = max_ratio

    def transform(self, results: dict) -> dict:
        pts = results["points"].copy()
        drop = np.flatnonzero(np.random.rand(len(pts)) <= np.random.rand() * self.max_ratio)
        if drop.size:
            pts[drop] = pts[0]
            if "gt_parts" in results:
                results["gt_parts"] = results["gt_parts"].copy()
                results["gt_parts"][drop] = results["gt_parts"][0]
        results["points"] = pts
        return results


@TRANSFORMS.register_module()
class PackPointInputs(BaseTransform):
    """``inputs`` (N, C) float tensor + ``data_samples`` (BaseDataElement with the labels and file).

    Args:
        use_normals: feed xyz + normals (C = 6) or xyz only (C = 3).
    """

    def __init__(self, use_normals: bool = False) -> None:
        self.use_normals = use_normals

    def transform(self, results: dict) -> dict:
        pts = results["points"]
        if self.use_normals and pts.shape[1] < 6:
            raise PointFileError(f"{results.get('points_path')}: no normals to pack (LoadPointCloud use_normals=True)")
        inputs = torch.from_numpy(np.ascontiguousarray(pts[:, :6] if self.use_normals else pts[:, :3]))
        sample = BaseDataElement(points_path=str(results.get("points_path", "")), num_points=len(pts))
        if "gt_label" in results:
            sample.set_field(torch.tensor(int(results["gt_label"])), "gt_label")
        if "category" in results:
            sample.category = int(results["category"])
            sample.parts = torch.as_tensor(list(results["parts"]), dtype=torch.long)
        if "gt_parts" in results:
            sample.set_field(torch.from_numpy(np.asarray(results["gt_parts"], dtype=np.int64)), "gt_parts")
        return dict(inputs=inputs, data_samples=sample)
