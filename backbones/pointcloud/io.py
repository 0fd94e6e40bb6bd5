"""Reading point clouds and meshes with checks: every failure names the file.

* text files (``.txt``/``.csv``): comma- or whitespace-separated rows, parsed with numpy (open3d
  reads a comma-separated ``.txt`` as 0 points); the number of columns is checked.
* ``.npy``: an (N, C) numeric array (object arrays, which unpickle Python objects, are refused).
* point files open3d reads (``.ply``, ``.pcd``, ``.xyz``, ``.xyzn``, ``.xyzrgb``, ``.pts``):
  xyz, plus normals when the file has them.
* meshes open3d reads (``.off``, ``.obj``, ``.stl``, ``.gltf``, ``.glb``, and ``.ply`` with faces):
  ``mesh_points`` surface points with triangle normals, sampled uniformly by area with a seed
  derived from the file name (deterministic), cached as ``.npy`` in ``cache_dir`` when given.

Rules, each failure a :class:`PointFileError` naming the file: text and ``.npy`` files hold
:data:`POINT_COLUMNS` columns (3: x y z, 6: + nx ny nz, 7: + part label) unless the caller names other
counts (a 4th column such as an intensity is refused, not dropped); a cloud has at least one row, finite
values, and at least 2 distinct points: all points within ``1e-6`` of the largest coordinate magnitude of
their centroid (a single point, or copies of one) is degenerate, as centring such a cloud in float32
leaves only rounding residue (~1e-7 relative).

Files with counts in their header are checked first (:mod:`backbones.pointcloud.file_layout`).
"""
from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from backbones.pointcloud.file_layout import PointFileError, check_layout

TEXT_EXTS = (".txt", ".csv")
POINT_EXTS = (".pcd", ".xyz", ".xyzn", ".xyzrgb", ".pts", ".ply")
MESH_EXTS = (".off", ".obj", ".stl", ".gltf", ".glb", ".ply")


#: column counts a point file may have when the caller accepts any layout: xyz, xyz + normals,
#: xyz + normals + part label.
POINT_COLUMNS = (3, 6, 7)

#: relative spread (max distance to the centroid / largest coordinate magnitude) below which a cloud is
#: one repeated point.
DEGENERATE_SPREAD = 1e-6


def check_distinct(points: np.ndarray, path: str | Path) -> np.ndarray:
    """Raise :class:`PointFileError` naming ``path`` unless the xyz of ``points`` (N, >=3) hold at least 2
    distinct points (relative spread above :data:`DEGENERATE_SPREAD`, computed in float64)."""
    if len(points) < 2:
        raise PointFileError(f"{path}: {len(points)} point; a point cloud needs at least 2 distinct points")
    xyz = points[:, :3].astype(np.float64)
    spread = np.linalg.norm(xyz - xyz.mean(0), axis=1).max()
    scale = np.abs(xyz).max()
    if spread <= DEGENERATE_SPREAD * scale:
        raise PointFileError(f"{path}: all {len(points)} points coincide (at {xyz[0].tolist()}); a point cloud "
                             f"needs at least 2 distinct points")
    return points


def _check_columns(arr: np.ndarray, columns: Sequence[int] | None, path: str | Path) -> None:
    allowed = tuple(columns) if columns is not None else POINT_COLUMNS
    if arr.shape[1] not in allowed:
        layouts = "" if columns is not None else " (x y z; + nx ny nz; + part label)"
        raise PointFileError(f"{path}: {arr.shape[1]} columns per row, expected "
                             f"{' or '.join(map(str, allowed))}{layouts}")


def read_npy_points(path: str | Path, columns: Sequence[int] | None = None) -> np.ndarray:
    """(N, C) float32 from a ``.npy`` file holding a numeric 2-D array; C must be in ``columns``
    (default :data:`POINT_COLUMNS`)."""
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise PointFileError(f"{path}: not a readable .npy array (no NumPy header)")
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise PointFileError(f"{path}: an object array (pickled Python objects), which is not read; save "
                                 f"the points as a numeric (N, C) array") from None
        raise PointFileError(f"{path}: not a readable .npy array ({err})") from None
    except (OSError, EOFError) as err:
        raise PointFileError(f"{path}: not a readable .npy array ({err})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        kind = arr.dtype if isinstance(arr, np.ndarray) else type(arr).__name__
        raise PointFileError(f"{path}: array of {kind}, expected numbers")
    if arr.ndim != 2:
        raise PointFileError(f"{path}: array of shape {arr.shape}, expected (N, C)")
    if arr.shape[0] == 0:
        raise PointFileError(f"{path}: no points (array of shape {arr.shape})")
    _check_columns(arr, columns, path)
    return check_finite(arr.astype(np.float32), path)


def check_finite(points: np.ndarray, path: str | Path) -> np.ndarray:
    """Raise :class:`PointFileError` naming ``path`` and the first bad row if any value is NaN or infinite."""
    bad = ~np.isfinite(points).all(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise PointFileError(f"{path}: {int(bad.sum())} rows with NaN or infinite values (first: row {row + 1}: "
                             f"{points[row].tolist()})")
    return points


def read_text_points(path: str | Path, columns: Sequence[int] | None = None) -> np.ndarray:
    """(N, C) float32 from a comma- or whitespace-separated text file; C must be in ``columns`` (default
    :data:`POINT_COLUMNS`)."""
    with open(path) as f:
        first = f.readline()
    delimiter = "," if "," in first else None
    try:
        arr = np.loadtxt(path, delimiter=delimiter, dtype=np.float32, ndmin=2)
    except ValueError as err:
        raise PointFileError(f"{path}: cannot parse as rows of numbers ({err})") from None
    if arr.size == 0:
        raise PointFileError(f"{path}: no points")
    _check_columns(arr, columns, path)
    return check_finite(arr, path)


def check_read(path: str | Path, read: int, layout: dict[str, int] | None) -> None:
    """Raise :class:`PointFileError` naming ``path`` unless open3d read the ``read`` vertices its header declares
    (``layout`` from :func:`~backbones.pointcloud.file_layout.check_layout`; None or an ``.obj``: not checked)."""
    if layout is not None and Path(path).suffix.lower() != ".obj" and read != layout.get("vertex", 0):
        raise PointFileError(f"{path}: {read} vertices read, the header declares {layout.get('vertex', 0)}")


def _seed_of(path: str | Path) -> int:
    # a seed from the file name, in open3d's signed 32-bit range
    return int.from_bytes(hashlib.sha1(Path(path).name.encode()).digest()[:4], "little") & 0x7FFFFFFF


def sample_mesh(path: str | Path, num_points: int = 10000, cache_dir: str | Path | None = None,
                layout: dict[str, int] | None = None) -> np.ndarray:
    """(num_points, 6) xyz + normals sampled uniformly on the surface of a mesh file, cached if asked.

    Args:
        path: the mesh file.
        num_points: the points sampled.
        cache_dir: where the sample is cached (None: no cache).
        layout: the file's counts from :func:`~backbones.pointcloud.file_layout.check_layout` when already checked
            (None: checked here).

    Raises:
        PointFileError: a file cut short or longer than its header declares, an empty or flat mesh.
    """
    path = Path(path)
    cache = None
    if cache_dir is not None:
        stat = path.stat()
        key = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{num_points}".encode()).hexdigest()
        cache = Path(cache_dir) / f"{path.stem}_{key[:16]}.npy"
        if cache.exists():
            return np.load(cache)
    layout = check_layout(path) if layout is None else layout
    import open3d as o3d

    mesh = o3d.io.read_triangle_mesh(str(path))
    check_read(path, len(mesh.vertices), layout)
    if len(mesh.triangles) == 0 or len(mesh.vertices) == 0:
        raise PointFileError(f"{path}: empty mesh ({len(mesh.vertices)} vertices, {len(mesh.triangles)} triangles; "
                             f"unreadable or not a mesh)")
    check_finite(np.asarray(mesh.vertices), path)
    if mesh.get_surface_area() <= 0:
        raise PointFileError(f"{path}: mesh has zero surface area")
    o3d.utility.random.seed(_seed_of(path))
    pcd = mesh.sample_points_uniformly(number_of_points=num_points, use_triangle_normal=True)
    points = np.concatenate([np.asarray(pcd.points), np.asarray(pcd.normals)], axis=1).astype(np.float32)
    if cache is not None:
        from backbones.utils.files import write_atomic

        buf = io.BytesIO()
        np.save(buf, points)
        write_atomic(buf.getvalue(), cache)
    return points


def read_point_file(path: str | Path, columns: Sequence[int] | None = None, mesh_points: int = 10000,
                    cache_dir: str | Path | None = None) -> np.ndarray:
    """Points (N, C) float32 from any supported file (see the module docstring).

    Args:
        path: the file.
        columns: accepted column counts for text / npy files (None: :data:`POINT_COLUMNS`).
        mesh_points: surface points sampled from a mesh.
        cache_dir: where sampled meshes are cached (None: no cache).

    Raises:
        FileNotFoundError: the file does not exist.
        PointFileError: wrong number of columns, NaN / infinite values, no points, fewer than 2 distinct
            points, an object or non-numeric ``.npy``, empty mesh, a ``.ply`` / ``.off`` / ``.obj`` cut short
            or longer than its header declares (see :mod:`backbones.pointcloud.file_layout`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"point file {path} does not exist")
    return check_distinct(_read_points(path, columns, mesh_points, cache_dir), path)


def _read_points(path: Path, columns: Sequence[int] | None, mesh_points: int,
                 cache_dir: str | Path | None) -> np.ndarray:
    ext = path.suffix.lower()
    if ext in TEXT_EXTS:
        return read_text_points(path, columns)
    if ext == ".npy":
        return read_npy_points(path, columns)
    if ext not in POINT_EXTS + MESH_EXTS:
        raise PointFileError(f"{path}: unsupported extension {ext!r}; supported: "
                             f"{sorted(set(TEXT_EXTS + ('.npy',) + POINT_EXTS + MESH_EXTS))}")
    layout = check_layout(path)  # counts the file's size cannot hold fail here, before open3d allocates them
    if ext in MESH_EXTS and (ext != ".ply" or layout.get("face", 0) > 0):
        return sample_mesh(path, mesh_points, cache_dir, layout)
    import open3d as o3d

    pcd = o3d.io.read_point_cloud(str(path))
    check_read(path, len(pcd.points), layout)
    if len(pcd.points) == 0:
        raise PointFileError(f"{path}: no points (empty or unreadable by open3d)")
    cols = [np.asarray(pcd.points)] + ([np.asarray(pcd.normals)] if pcd.has_normals() else [])
    return check_finite(np.concatenate(cols, axis=1).astype(np.float32), path)


def estimate_normals(points: np.ndarray, k: int = 16) -> np.ndarray:
    """(N, 3) -> (N, 6): normals from open3d's kNN-PCA, oriented away from the centroid."""
    import open3d as o3d

    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points[:, :3].astype(np.float64)))
    pcd.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(knn=k))
    normals = np.asarray(pcd.normals)
    flip = ((points[:, :3] - points[:, :3].mean(0)) * normals).sum(1) < 0
    normals[flip] *= -1
    return np.concatenate([points[:, :3], normals], axis=1).astype(np.float32)


__all__ = ["POINT_COLUMNS", "PointFileError", "read_point_file", "read_text_points", "read_npy_points", "sample_mesh",
           "estimate_normals", "check_finite", "check_distinct"]
