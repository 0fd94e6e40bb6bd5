"""Generate, with open3d, a small point-cloud classification set and a part-segmentation set.

Usage:
    backbones-prepare-data shapes OUT_DIR [--train 60] [--test 20] [--points 1024] [--seed 0]

Writes, deterministically (same bytes for the same arguments):

* ``OUT_DIR/modelnet_shapes/`` in the ``modelnet40_normal_resampled`` layout (list prefix ``shapes``):
  10 classes of meshes (box, sphere, cylinder, cone, torus, tetrahedron, octahedron, icosahedron,
  arrow, capsule) with random proportions, a random anisotropic scale (0.8..1.25 per axis) and a
  uniformly random 3D rotation; ``--points`` surface points with triangle normals per shape as
  comma-separated ``x,y,z,nx,ny,nz`` rows; ``shapes_shape_names.txt``, ``shapes_{train,test}.txt``.
* ``OUT_DIR/shapenetpart_shapes/`` in the ``shapenetcore_partanno_segmentation_benchmark_v0_normal``
  layout: 4 categories of composite objects with labelled parts - Table (top, legs), Lamp (shade,
  pole, base), Mushroom (cap, stem), Arrow (shaft, head) - upright (y-up), randomly proportioned,
  scaled anisotropically and rotated about the up axis; ``x y z nx ny nz part`` rows;
  ``synsetoffset2category.txt``, ``train_test_split/shuffled_{train,val,test}_file_list.json`` and
  ``category_parts.json`` (the part ids of each category, 9 parts in all).

Each set is built beside its target and renamed into place (an interrupted run leaves nothing
half-written); a complete set with the same settings is kept.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from backbones.bundled import build_folder

CLASSES = ["box", "sphere", "cylinder", "cone", "torus", "tetrahedron", "octahedron", "icosahedron", "arrow",
           "capsule"]
PART_CATEGORIES = {"Table": ("90000001", ["top", "leg"]), "Lamp": ("90000002", ["shade", "pole", "base"]),
                   "Mushroom": ("90000003", ["cap", "stem"]), "Arrow": ("90000004", ["shaft", "head"])}
VERSION = 1


def _o3d():  # noqa: ANN202
    import open3d as o3d

    return o3d


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random 3D rotation (from a random unit quaternion)."""
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def up_rotation(rng: np.random.Generator) -> np.ndarray:
    """A random rotation about the y (up) axis."""
    t = rng.uniform(0, 2 * np.pi)
    c, s = np.cos(t), np.sin(t)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _capsule(radius: float, length: float):  # noqa: ANN202
    """A capsule: a sphere whose two hemispheres are pushed apart by ``length`` along y."""
    mesh = _o3d().geometry.TriangleMesh.create_sphere(radius=radius, resolution=24)
    v = np.asarray(mesh.vertices).copy()
    v[:, 1] += np.sign(v[:, 1]) * length / 2
    mesh.vertices = _o3d().utility.Vector3dVector(v)
    return mesh


def class_mesh(name: str, rng: np.random.Generator):  # noqa: ANN201
    """An open3d mesh of class ``name`` with random proportions, centred near the origin."""
    g = _o3d().geometry.TriangleMesh
    u = lambda a, b: float(rng.uniform(a, b))  # noqa: E731
    if name == "box":
        mesh = g.create_box(u(0.6, 1.0), u(0.6, 1.0), u(0.6, 1.0))
    elif name == "sphere":
        mesh = g.create_sphere(radius=0.5, resolution=24)
    elif name == "cylinder":
        mesh = g.create_cylinder(radius=u(0.3, 0.45), height=u(0.9, 1.3), resolution=32, split=4)
    elif name == "cone":
        mesh = g.create_cone(radius=u(0.35, 0.5), height=u(0.8, 1.2), resolution=32, split=4)
    elif name == "torus":
        mesh = g.create_torus(torus_radius=0.5, tube_radius=u(0.12, 0.22), radial_resolution=32, tubular_resolution=16)
    elif name == "tetrahedron":
        mesh = g.create_tetrahedron(radius=0.6)
    elif name == "octahedron":
        mesh = g.create_octahedron(radius=0.6)
    elif name == "icosahedron":
        mesh = g.create_icosahedron(radius=0.6)
    elif name == "arrow":
        mesh = g.create_arrow(cylinder_radius=u(0.05, 0.09), cone_radius=u(0.15, 0.22), cylinder_height=u(0.7, 0.9),
                              cone_height=u(0.3, 0.45), resolution=24)
    elif name == "capsule":
        mesh = _capsule(radius=u(0.25, 0.35), length=u(0.8, 1.1))
    else:
        raise ValueError(f"unknown shape class {name!r}")
    return mesh.translate(-mesh.get_center())


def sample_surface(mesh, n: int, seed: int) -> np.ndarray:  # noqa: ANN001
    """(n, 6) surface points with triangle normals, uniform by area."""
    o3d = _o3d()
    mesh.compute_triangle_normals()
    o3d.utility.random.seed(seed)
    pcd = mesh.sample_points_uniformly(number_of_points=n, use_triangle_normal=True)
    return np.concatenate([np.asarray(pcd.points), np.asarray(pcd.normals)], axis=1)


def transform(points: np.ndarray, scale: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """Scale then rotate xyz; normals by the inverse transpose, renormalised."""
    m = rot @ np.diag(scale)
    out = points.copy()
    out[:, :3] = points[:, :3] @ m.T
    nrm = points[:, 3:6] @ np.linalg.inv(m)
    out[:, 3:6] = nrm / np.linalg.norm(nrm, axis=1, keepdims=True)
    return out


def part_meshes(category: str, rng: np.random.Generator) -> list:
    """The meshes of one object's parts, in the category's part order (y-up)."""
    g = _o3d().geometry.TriangleMesh
    u = lambda a, b: float(rng.uniform(a, b))  # noqa: E731
    rot_x = lambda m: m.rotate(m.get_rotation_matrix_from_xyz((-np.pi / 2, 0, 0)), center=(0, 0, 0))  # noqa: E731
    if category == "Table":
        w, d, t, h, r = u(0.9, 1.3), u(0.6, 1.0), u(0.05, 0.1), u(0.5, 0.8), u(0.03, 0.06)
        top = g.create_box(w, t, d).translate((-w / 2, h, -d / 2))
        legs = g()
        for sx in (-1, 1):
            for sz in (-1, 1):
                leg = rot_x(g.create_cylinder(r, h, 16))
                legs += leg.translate((sx * (w / 2 - 2 * r), h / 2, sz * (d / 2 - 2 * r)))
        return [top, legs]
    if category == "Lamp":
        hb, rb, hp, rp, hs, rs = u(0.04, 0.08), u(0.2, 0.3), u(0.7, 1.1), u(0.02, 0.04), u(0.25, 0.4), u(0.2, 0.35)
        base = rot_x(g.create_cylinder(rb, hb, 32)).translate((0, hb / 2, 0))
        pole = rot_x(g.create_cylinder(rp, hp, 12, split=4)).translate((0, hb + hp / 2, 0))
        shade = rot_x(g.create_cone(rs, hs, 32, split=3)).translate((0, hb + hp - hs * 0.3, 0))
        return [shade, pole, base]
    if category == "Mushroom":
        hs, rs, rc, hc = u(0.4, 0.7), u(0.06, 0.12), u(0.3, 0.5), u(0.12, 0.25)
        stem = rot_x(g.create_cylinder(rs, hs, 16, split=3)).translate((0, hs / 2, 0))
        cap = g.create_sphere(1.0, 24)
        v = np.asarray(cap.vertices).copy()
        v[:, 1] = np.maximum(v[:, 1], 0.0)  # a dome: the lower half flattened onto its rim
        cap.vertices = _o3d().utility.Vector3dVector(v * np.array([rc, hc, rc]) + np.array([0, hs, 0]))
        return [cap, stem]
    if category == "Arrow":
        ls, rs, lh, rh = u(0.7, 1.0), u(0.03, 0.06), u(0.2, 0.35), u(0.1, 0.18)
        shaft = rot_x(g.create_cylinder(rs, ls, 16, split=4)).translate((0, ls / 2, 0))
        head = rot_x(g.create_cone(rh, lh, 24, split=2)).translate((0, ls, 0))
        return [shaft, head]
    raise ValueError(f"unknown part category {category!r}")


def sample_parts(meshes: list, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n points over all parts (split by surface area), with each point's part index."""
    areas = np.array([m.get_surface_area() for m in meshes])
    counts = np.floor(n * areas / areas.sum()).astype(int)
    counts[np.argmax(areas)] += n - counts.sum()
    pts = [sample_surface(m, int(c), seed + i) for i, (m, c) in enumerate(zip(meshes, counts)) if c > 0]
    labels = [np.full(int(c), i) for i, c in enumerate(counts) if c > 0]
    return np.concatenate(pts), np.concatenate(labels)


def _write(path: Path, text: str, digest) -> None:  # noqa: ANN001
    path.write_text(text)
    digest.update(text.encode())


def prepare_cls(out: Path, n_train: int, n_test: int, points: int, seed: int) -> Path:
    """The ModelNet-layout classification set."""
    settings = dict(train=n_train, test=n_test, points=points, seed=seed, version=VERSION)

    def writer(tmp: Path, digest) -> dict:  # noqa: ANN001
        lists = {"train": [], "test": []}
        for ci, name in enumerate(CLASSES):
            (tmp / name).mkdir()
            rng = np.random.default_rng([seed, ci])
            for k in range(n_train + n_test):
                mesh = class_mesh(name, rng)
                pts = transform(sample_surface(mesh, points, seed * 100003 + ci * 1009 + k),
                                rng.uniform(0.8, 1.25, 3), random_rotation(rng))
                sample = f"{name}_{k + 1:04d}"
                _write(tmp / name / f"{sample}.txt", "\n".join(",".join(f"{v:.6f}" for v in row) for row in pts) + "\n",
                       digest)
                lists["train" if k < n_train else "test"].append(sample)
        _write(tmp / "shapes_shape_names.txt", "\n".join(CLASSES) + "\n", digest)
        for split, names in lists.items():
            _write(tmp / f"shapes_{split}.txt", "\n".join(names) + "\n", digest)
        return dict(classes=len(CLASSES), train=len(lists["train"]), test=len(lists["test"]))

    return build_folder(out, settings, writer)


def prepare_parts(out: Path, n_train: int, n_val: int, n_test: int, points: int, seed: int) -> Path:
    """The ShapeNetPart-layout part-segmentation set."""
    settings = dict(train=n_train, val=n_val, test=n_test, points=points, seed=seed, version=VERSION)

    def writer(tmp: Path, digest) -> dict:  # noqa: ANN001
        table, first = {}, 0
        for cat, (_, parts) in PART_CATEGORIES.items():
            table[cat] = list(range(first, first + len(parts)))
            first += len(parts)
        lists = {"train": [], "val": [], "test": []}
        for ci, (cat, (synset, _)) in enumerate(PART_CATEGORIES.items()):
            (tmp / synset).mkdir()
            rng = np.random.default_rng([seed, 1000 + ci])
            for k in range(n_train + n_val + n_test):
                pts, local = sample_parts(part_meshes(cat, rng), points, seed * 100003 + ci * 1009 + k * 7)
                pts = transform(pts, rng.uniform(0.8, 1.25, 3), up_rotation(rng))
                label = np.asarray(table[cat])[local]
                shape_id = f"{cat.lower()}{k + 1:05d}"
                rows = (" ".join(f"{v:.6f}" for v in row) + f" {lab}" for row, lab in zip(pts, label))
                _write(tmp / synset / f"{shape_id}.txt", "\n".join(rows) + "\n", digest)
                split = "train" if k < n_train else "val" if k < n_train + n_val else "test"
                lists[split].append(f"shape_data/{synset}/{shape_id}")
        _write(tmp / "synsetoffset2category.txt",
               "".join(f"{cat}\t{synset}\n" for cat, (synset, _) in PART_CATEGORIES.items()), digest)
        (tmp / "train_test_split").mkdir()
        for split, entries in lists.items():
            _write(tmp / "train_test_split" / f"shuffled_{split}_file_list.json", json.dumps(entries), digest)
        names = {cat: dict(zip(table[cat], parts)) for cat, (_, parts) in PART_CATEGORIES.items()}
        _write(tmp / "category_parts.json", json.dumps(table, indent=1) + "\n", digest)
        return dict(categories=len(table), parts=first, part_names=names, **{k: len(v) for k, v in lists.items()})

    return build_folder(out, settings, writer)


def prepare(out_dir: str | Path, n_train: int = 60, n_test: int = 20, points: int = 1024, seed: int = 0) -> dict:
    """Both sets under ``out_dir``; returns their folders."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return dict(cls=prepare_cls(out / "modelnet_shapes", n_train, n_test, points, seed),
                part=prepare_parts(out / "shapenetpart_shapes", n_train, n_test, n_test, points, seed))
