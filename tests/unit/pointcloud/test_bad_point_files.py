"""Bad data fails with the file named: degenerate / empty / object / 4-column point files, a zero-byte image."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import backbones.pointcloud  # noqa: F401  (registers the point modules)
from backbones.pointcloud import PointFileError, read_point_file
from tests.support import ROOT

POINT_CFG = ROOT / "configs/pointcloud/shapes/pct_offsetattention-w64_1xb32-10e_shapes-cls-512pts.py"


def write_txt(path: Path, rows: np.ndarray) -> Path:
    np.savetxt(path, rows, fmt="%.7f")
    return path


def sphere(n: int, centre: float = 0.0, radius: float = 1.0) -> np.ndarray:
    xyz = np.random.default_rng(0).normal(size=(n, 3))
    xyz /= np.linalg.norm(xyz, axis=1, keepdims=True)
    return np.concatenate([centre + radius * xyz, xyz], axis=1).astype(np.float32)


@pytest.mark.parametrize("case,rows,message", [
    ("single point", sphere(1), "1 point; a point cloud needs at least 2 distinct points"),
    ("identical points", np.tile(np.float32([[0.1, 0.2, 0.3, 0, 0, 1]]), (500, 1)), "all 500 points coincide"),
    ("identical far from the origin", np.tile(np.float32([[1e4 + 0.1, -7.3, 3.3]]), (64, 1)), "all 64 points"),
])
def test_degenerate_clouds_are_named(case: str, rows: np.ndarray, message: str, tmp_path: Path) -> None:
    for path in (write_txt(tmp_path / "p.txt", rows), tmp_path / "p.npy"):
        if path.suffix == ".npy":
            np.save(path, rows)
        with pytest.raises(PointFileError, match=message) as err:
            read_point_file(path)
        assert str(path) in str(err.value)


def test_identical_points_leave_float32_residue_but_small_real_clouds_pass(tmp_path: Path) -> None:
    """Centring copies of one float32 point in float32 leaves a residue (why an exact-zero test never fired);
    a real cloud 1e-3 across far from the origin is still accepted."""
    same = np.tile(np.float32([[0.1, 0.2, 0.3]]), (500, 1))
    assert np.linalg.norm(same - same.mean(0), axis=1).max() > 0  # the residue a `radius <= 0` test misses
    small = sphere(300, centre=50.0, radius=1e-3)
    np.save(tmp_path / "small.npy", small)
    assert read_point_file(tmp_path / "small.npy").shape == (300, 6)


def test_npy_without_rows_object_or_text_is_named(tmp_path: Path) -> None:
    np.save(tmp_path / "empty.npy", np.zeros((0, 3), np.float32))
    np.save(tmp_path / "objects.npy", np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
    np.save(tmp_path / "text.npy", np.array([["a", "b", "c"]] * 4))
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    for name, message in (("empty.npy", r"no points \(array of shape \(0, 3\)\)"),
                          ("objects.npy", "an object array .pickled Python objects., which is not read"),
                          ("text.npy", "array of <U1, expected numbers"),
                          ("junk.npy", "not a readable .npy array")):
        with pytest.raises(PointFileError, match=message) as err:
            read_point_file(tmp_path / name)
        assert str(tmp_path / name) in str(err.value)


def test_column_counts_follow_the_documented_layouts(tmp_path: Path) -> None:
    """Any layout accepted: 3 (xyz), 6 (+ normals), 7 (+ part label); a 4th column is refused, not dropped."""
    for c in (3, 6, 7):
        rows = np.concatenate([sphere(20), np.ones((20, 1), np.float32)], axis=1)[:, :c]
        assert read_point_file(write_txt(tmp_path / f"c{c}.txt", rows)).shape == (20, c)
    four = write_txt(tmp_path / "xyzi.txt", np.concatenate([sphere(20)[:, :3], np.ones((20, 1))], axis=1))
    with pytest.raises(PointFileError, match=r"xyzi.txt: 4 columns per row, expected 3 or 6 or 7 \(x y z"):
        read_point_file(four)


def test_infer_points_names_the_bad_file(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    """tools/infer_points.py: a 4-column .txt among good files is an error naming it (exit 2), not a prediction."""
    from mmengine.config import Config

    from backbones.cli import infer_points
    from backbones.engine.runner.config import build_model

    model = build_model(Config.fromfile(str(POINT_CFG)))
    classes = [f"c{i}" for i in range(10)]
    torch.save({"state_dict": model.state_dict(), "meta": {"dataset_meta": {"classes": classes}}}, tmp_path / "m.pth")
    good = write_txt(tmp_path / "good.txt", sphere(600))
    four = write_txt(tmp_path / "xyzi.txt", np.concatenate([sphere(600)[:, :3], np.ones((600, 1))], axis=1))
    assert infer_points.main([str(POINT_CFG), str(tmp_path / "m.pth"), str(good)]) == 0
    assert f"\n{good}: c" in capsys.readouterr().out  # a class prediction
    assert infer_points.main([str(POINT_CFG), str(tmp_path / "m.pth"), str(good), str(four)]) == 2
    err = capsys.readouterr().err
    assert f"error: {four}: 4 columns per row" in err


def test_zero_byte_image_is_named(tmp_path: Path) -> None:
    from mmengine.registry import DefaultScope
    from PIL import Image

    import backbones.classification  # noqa: F401
    from backbones.classification.image_folder import ImageFileError, ImageFolderDataset

    for c in ("a", "b"):
        (tmp_path / "train" / c).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(tmp_path / "train" / c / "ok.png")
    (tmp_path / "train" / "b" / "zero.png").write_bytes(b"")
    with DefaultScope.overwrite_default_scope("mmpretrain"):
        ds = ImageFolderDataset(data_root=str(tmp_path), data_prefix="train",
                                pipeline=[dict(type="LoadImageFromFile"), dict(type="PackInputs")])
        paths = [ds.get_data_info(i)["img_path"] for i in range(len(ds))]
        bad = paths.index(str(tmp_path / "train" / "b" / "zero.png"))
        assert ds[1 - bad if bad < 2 else 0]["inputs"].shape == (3, 8, 8)
        with pytest.raises(ImageFileError, match=r"zero\.png \(0 bytes\): sample \d cannot be loaded"):
            ds[bad]
