"""Point-cloud readers on tiny generated layouts, their error messages, the transforms, the metrics, prepare_shapes."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import backbones.pointcloud  # noqa: F401  (registers the point modules)
from backbones.pointcloud import (
    LoadPointCloud,
    ModelNetDataset,
    ModelNetMeshDataset,
    NormalizeToUnitSphere,
    PartSegMIoU,
    PointAccuracy,
    PointFileDataset,
    PointFileError,
    PointSample,
    RandomPointDropout,
    RandomRotateUp,
    RandomScale,
    ShapeNetPartDataset,
    read_point_file,
    shape_iou,
)

LOAD6 = [dict(type="LoadPointCloud", columns=(6,)), dict(type="PointSample", num_points=16, random=False),
         dict(type="NormalizeToUnitSphere"), dict(type="PackPointInputs", use_normals=True)]


def cloud(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    xyz = rng.normal(size=(n, 3))
    return np.concatenate([xyz, xyz / np.linalg.norm(xyz, axis=1, keepdims=True)], axis=1)


def write_modelnet(root: Path, classes=("cone", "flower_pot"), per_class: int = 2) -> Path:  # noqa: ANN001
    root.mkdir(parents=True)
    (root / "modelnet40_shape_names.txt").write_text("\n".join(classes) + "\n")
    train = []
    for i, c in enumerate(classes):
        (root / c).mkdir()
        for k in range(per_class):
            name = f"{c}_{k + 1:04d}"
            np.savetxt(root / c / f"{name}.txt", cloud(20, 10 * i + k), delimiter=",", fmt="%.6f")
            train.append(name)
    (root / "modelnet40_train.txt").write_text("\n".join(train) + "\n")
    (root / "modelnet40_test.txt").write_text(train[0] + "\n")
    return root


def write_shapenetpart(root: Path) -> Path:
    (root / "train_test_split").mkdir(parents=True)
    (root / "synsetoffset2category.txt").write_text("Airplane\t02691156\nBag\t02773838\n")
    entries = []
    for synset, parts in (("02691156", [0, 1, 2, 3]), ("02773838", [4, 5])):
        (root / synset).mkdir()
        for k in range(2):
            pts = cloud(24, k)
            labels = np.array(parts)[np.arange(24) % len(parts)]
            np.savetxt(root / synset / f"s{k}.txt", np.concatenate([pts, labels[:, None]], 1), fmt="%.6f")
            entries.append(f"shape_data/{synset}/s{k}")
    for split in ("train", "val", "test"):
        (root / "train_test_split" / f"shuffled_{split}_file_list.json").write_text(json.dumps(entries))
    return root


def test_modelnet_reader(tmp_path: Path) -> None:
    root = write_modelnet(tmp_path / "modelnet40_normal_resampled")
    ds = ModelNetDataset(str(root), split="train", pipeline=LOAD6)
    assert len(ds) == 4 and ds.metainfo["classes"] == ("cone", "flower_pot")
    item = ds[3]
    assert item["inputs"].shape == (16, 6) and int(item["data_samples"].gt_label) == 1
    assert abs(float(item["inputs"][:, :3].norm(dim=1).max()) - 1) < 1e-5
    assert len(ModelNetDataset(str(root), split="test", pipeline=LOAD6)) == 1
    (root / "modelnet40_test.txt").write_text("chair_0001\n")
    with pytest.raises(ValueError, match="class 'chair', which is not in modelnet40_shape_names.txt"):
        ModelNetDataset(str(root), split="test")


def test_mesh_reader_samples_and_caches(tmp_path: Path) -> None:
    import open3d as o3d

    for split in ("train", "test"):
        for c in ("box", "ball"):
            (tmp_path / "ModelNet" / c / split).mkdir(parents=True)
    mk = {"box": o3d.geometry.TriangleMesh.create_box(), "ball": o3d.geometry.TriangleMesh.create_sphere()}
    for c, mesh in mk.items():
        o3d.io.write_triangle_mesh(str(tmp_path / "ModelNet" / c / "train" / f"{c}_0001.off"), mesh)
    cache = tmp_path / "cache"
    pipeline = [dict(LOAD6[0], cache_dir=str(cache), mesh_points=500), *LOAD6[1:]]
    ds = ModelNetMeshDataset(str(tmp_path / "ModelNet"), split="train", pipeline=pipeline)
    assert ds.metainfo["classes"] == ("ball", "box") and len(ds) == 2
    a = ds[1]["inputs"]
    assert a.shape == (16, 6) and len(list(cache.glob("*.npy"))) == 1
    np.testing.assert_array_equal(a.numpy(), ds[1]["inputs"].numpy())  # cached, deterministic
    pts = read_point_file(tmp_path / "ModelNet/box/train/box_0001.off", mesh_points=300)
    assert pts.shape == (300, 6) and pts[:, :3].min() >= -1e-6 and pts[:, :3].max() <= 1 + 1e-6
    o3d.io.write_triangle_mesh(str(tmp_path / "empty.obj"), o3d.geometry.TriangleMesh())
    with pytest.raises(PointFileError, match=r"empty\.obj: empty mesh"):
        read_point_file(tmp_path / "empty.obj")


def test_open3d_point_files_and_normals(tmp_path: Path) -> None:
    import open3d as o3d

    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(cloud(50)[:, :3]))
    o3d.io.write_point_cloud(str(tmp_path / "a.ply"), pcd)
    o3d.io.write_point_cloud(str(tmp_path / "a.pcd"), pcd)
    np.savetxt(tmp_path / "a.xyz", cloud(50)[:, :3])
    for ext in ("ply", "pcd", "xyz"):
        assert read_point_file(tmp_path / f"a.{ext}").shape == (50, 3)
    out = LoadPointCloud(use_normals=True)(dict(points_path=str(tmp_path / "a.xyz")))  # normals estimated
    n = out["points"][:, 3:]
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1, rtol=1e-4)
    ds = PointFileDataset(str(tmp_path), pipeline=[dict(type="LoadPointCloud", use_normals=False)])
    assert len(ds) == 3


def test_shapenetpart_reader_and_label_check(tmp_path: Path) -> None:
    root = write_shapenetpart(tmp_path / "shapenet")
    pipeline = [dict(type="LoadPointCloud", columns=(7,), with_part_labels=True),
                dict(type="PointSample", num_points=24, random=False), dict(type="PackPointInputs")]
    ds = ShapeNetPartDataset(str(root), split="trainval", pipeline=pipeline)
    assert len(ds) == 8 and ds.metainfo["classes"] == ("Airplane", "Bag") and ds.metainfo["num_parts"] == 6
    s = ds[2]["data_samples"]
    assert s.category == 1 and s.parts.tolist() == [4, 5] and set(s.gt_parts.tolist()) == {4, 5}
    bad = np.loadtxt(root / "02773838/s0.txt")
    bad[3, 6] = 0  # part 0 is an airplane part, not a bag part
    np.savetxt(root / "02773838/s0.txt", bad, fmt="%.6f")
    with pytest.raises(PointFileError, match=r"s0\.txt: part labels \[0\] are not parts of category 'Bag'"):
        ds[2]
    custom = ShapeNetPartDataset(str(root), split="val", category_parts={"Airplane": [0, 1], "Bag": [2]})
    assert custom.metainfo["num_parts"] == 3
    with pytest.raises(ValueError, match=r"categories \['Bag'\] have no entry in category_parts"):
        ShapeNetPartDataset(str(root), split="val", category_parts={"Airplane": [0]})


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    f = tmp_path / "bad_cols.txt"
    f.write_text("1,2,3,4,5\n1,2,3,4,5\n")
    with pytest.raises(PointFileError, match=r"bad_cols\.txt: 5 columns per row, expected 6"):
        read_point_file(f, columns=(6,))
    f = tmp_path / "ragged.txt"
    f.write_text("1,2,3,0,0,1\n1,2,3\n")
    with pytest.raises(PointFileError, match=r"ragged\.txt: cannot parse"):
        read_point_file(f, columns=(6,))
    f = tmp_path / "nan.txt"
    f.write_text("1,2,3,0,0,1\n1,nan,3,0,0,1\n1,2,inf,0,0,1\n")
    with pytest.raises(PointFileError, match=r"nan\.txt: 2 rows with NaN or infinite values \(first: row 2"):
        read_point_file(f, columns=(6,))
    with pytest.raises(FileNotFoundError, match="missing.txt does not exist"):
        read_point_file(tmp_path / "missing.txt")
    few = dict(points=cloud(5).astype(np.float32), points_path="few.txt")
    with pytest.raises(PointFileError, match=r"few\.txt: 5 points, fewer than the 8 requested"):
        PointSample(8, on_fewer="error")(dict(few))
    out = PointSample(8, random=False)(dict(few, gt_parts=np.arange(5)))  # default: resample with replacement
    assert out["points"].shape == (8, 6) and set(out["gt_parts"].tolist()) == set(range(5))


def test_transforms_keep_normals_consistent() -> None:
    np.random.seed(0)
    pts = cloud(200).astype(np.float32)
    pts[:, :3] = pts[:, 3:] * 2  # a sphere of radius 2: normals are the directions
    r = NormalizeToUnitSphere()(dict(points=pts))
    np.testing.assert_allclose(np.linalg.norm(r["points"][:, :3], axis=1).max(), 1, rtol=1e-5)
    s = RandomScale((0.5, 2.0))(dict(points=pts))["points"]
    ratio = np.median(s[:, :3] / pts[:, :3], axis=0)
    assert np.ptp(ratio) > 0.01 and ((ratio >= 0.5) & (ratio <= 2)).all()  # one factor per axis
    # the sphere became an ellipsoid with semi-axes a; its normal is proportional to x / a^2 (inverse transpose)
    a = ratio * 2
    want = s[:, :3] / a ** 2
    np.testing.assert_allclose(s[:, 3:], want / np.linalg.norm(want, axis=1, keepdims=True), atol=1e-4)
    rot = RandomRotateUp("y")(dict(points=pts))["points"]
    np.testing.assert_allclose(rot[:, 1], pts[:, 1], atol=1e-5)  # up coordinate unchanged
    np.testing.assert_allclose(np.linalg.norm(rot[:, :3], axis=1), np.linalg.norm(pts[:, :3], axis=1), rtol=1e-5)
    np.testing.assert_allclose((rot[:, :3] * rot[:, 3:]).sum(1), (pts[:, :3] * pts[:, 3:]).sum(1), rtol=1e-4)
    d = RandomPointDropout(0.9)(dict(points=pts, gt_parts=np.arange(200)))
    assert d["points"].shape == pts.shape and (d["gt_parts"] == 0).sum() >= 1
    samp = PointSample(50)(dict(points=pts, gt_parts=np.arange(200)))
    assert len(set(samp["gt_parts"].tolist())) == 50
    np.testing.assert_array_equal(samp["points"], pts[samp["gt_parts"]])  # labels follow their points


def test_part_iou_rules_by_hand() -> None:
    pred, label = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    # part 0: I 1 / U 2; part 1: I 2 / U 3; part 2 absent from both: 1
    assert shape_iou(pred, label, [0, 1, 2]) == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert shape_iou(np.array([3, 3]), np.array([4, 4]), [3, 4]) == 0.0
    metric = PartSegMIoU()
    metric.dataset_meta = dict(classes=("Table", "Lamp"))
    samples = [dict(pred_parts=pred, gt_parts=label, parts=[0, 1, 2], category=0),
               dict(pred_parts=np.array([0, 1]), gt_parts=np.array([0, 1]), parts=[0, 1, 2], category=0),
               dict(pred_parts=np.array([3, 3]), gt_parts=np.array([4, 4]), parts=[3, 4], category=1)]
    metric.process({}, samples)
    res = metric.compute_metrics(metric.results)
    table = ((0.5 + 2 / 3 + 1) / 3 + 1.0) / 2
    assert res["ins_mIoU"] == pytest.approx(100 * ((0.5 + 2 / 3 + 1) / 3 + 1 + 0) / 3)
    assert res["cls_mIoU"] == pytest.approx(100 * (table + 0) / 2)
    assert res["mIoU_Table"] == pytest.approx(100 * table) and res["mIoU_Lamp"] == 0


def test_accuracy_by_hand() -> None:
    metric = PointAccuracy()
    pairs = [(0, 0), (0, 0), (1, 0), (1, 1), (2, 2), (0, 2)]  # (pred, label)
    metric.process({}, [dict(pred_label=p, gt_label=g) for p, g in pairs])
    res = metric.compute_metrics(metric.results)
    assert res["OA"] == pytest.approx(100 * 4 / 6) and res["mAcc"] == pytest.approx(100 * (2 / 3 + 1 + 1 / 2) / 3)


def test_prepare_shapes_is_deterministic(tmp_path: Path) -> None:
    from backbones.bundled.shapes import CLASSES, prepare

    a = prepare(tmp_path / "a", n_train=2, n_test=1, points=64)
    b = prepare(tmp_path / "b", n_train=2, n_test=1, points=64)
    for kind in ("cls", "part"):
        ja, jb = (json.loads((d[kind] / "dataset.json").read_text()) for d in (a, b))
        assert ja["sha256"] == jb["sha256"]
    assert len(CLASSES) >= 10 and json.loads((a["cls"] / "dataset.json").read_text())["train"] == 2 * len(CLASSES)
    cls = ModelNetDataset(str(a["cls"]), split="test", list_prefix="shapes", pipeline=LOAD6)
    assert len(cls) == len(CLASSES) and cls[0]["inputs"].shape == (16, 6)
    part = ShapeNetPartDataset(str(a["part"]), split="val", category_parts="category_parts.json",
                               pipeline=[dict(type="LoadPointCloud", columns=(7,), with_part_labels=True)])
    for i in range(len(part)):  # every part of every object got points, and labels are the category's parts
        item = part[i]
        assert set(item["gt_parts"].tolist()) == set(item["parts"])
    assert not list(tmp_path.glob("*/*.partial"))
