"""End to end on the generated shapes: tools/train.py + tools/test.py (--out, --show-dir) for both point tasks,
and the inference helper on mesh / point files."""
from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

SHAPES = ROOT / "configs/pointcloud/shapes"


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> dict:  # noqa: ANN001
    from backbones.bundled.shapes import prepare

    return prepare(tmp_path_factory.mktemp("data") / "shapes", n_train=3, n_test=2, points=256)


def tiny_config(tmp_path: Path, task: str, data_root: Path) -> Path:
    base = next(SHAPES.glob(f"pct_offsetattention-*_shapes-{task}-*.py"))
    cfg = tmp_path / f"tiny_{task}.py"
    cfg.write_text(f"""
_base_ = ['{base}']
loader = dict(num_workers=0, persistent_workers=False, batch_size=8)
train_dataloader = dict(dataset=dict(data_root='{data_root}'), **loader)
val_dataloader = dict(dataset=dict(data_root='{data_root}'), **loader)
test_dataloader = val_dataloader
model = dict(backbone=dict(embed_dims=16, fuse_channels=32))
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
""")
    return cfg


def run_tool(*args: str) -> str:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.mark.parametrize("task,metric", [("cls", "point/OA"), ("part", "part/ins_mIoU")])
def test_train_test_show_dir(tmp_path: Path, shapes: dict, task: str, metric: str) -> None:
    cfg = tiny_config(tmp_path, task, shapes[task])
    work = tmp_path / "work"
    run_tool("tools/train.py", str(cfg), "--work-dir", str(work))
    ckpt = work / "epoch_1.pth"
    assert ckpt.exists()
    show, out = tmp_path / "show", tmp_path / "preds.pkl"
    log = run_tool("tools/test.py", str(cfg), str(ckpt), "--work-dir", str(tmp_path / "t"), "--out", str(out),
                   "--show-dir", str(show))
    value = re.findall(re.escape(metric) + r": ([0-9.]+)", log)
    assert value and 0 <= float(value[-1]) <= 100
    deployed = run_tool("tools/test.py", str(cfg), str(ckpt), "--work-dir", str(tmp_path / "d"), "--deploy")
    assert "converted to its deploy form" in deployed
    assert re.findall(re.escape(metric) + r": ([0-9.]+)", deployed)[-1] == value[-1]  # same predictions
    preds = pickle.loads(out.read_bytes())
    n = 20 if task == "cls" else 8  # the test split: 10 classes x 2, or 4 categories x 2
    assert len(preds) == n
    pngs = sorted(show.glob("*.png"))
    assert len(pngs) == n and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    if task == "part":
        assert preds[0]["pred_parts"].shape == (512,)
        from backbones.pointcloud.inference import inference_points, init_point_model

        model = init_point_model(cfg, ckpt)
        f = next((shapes["part"] / "90000002").glob("*.txt"))  # a lamp, labels ignored
        (s,) = inference_points(model, [f], category="Lamp")
        assert set(s.pred_parts.tolist()) <= {2, 3, 4}
        with pytest.raises(ValueError, match="needs the object category"):
            inference_points(model, [f])
    else:
        import open3d as o3d

        mesh = o3d.geometry.TriangleMesh.create_torus()
        o3d.io.write_triangle_mesh(str(tmp_path / "torus.off"), mesh)
        o3d.io.write_point_cloud(str(tmp_path / "torus.ply"), mesh.sample_points_uniformly(300))
        files = [str(tmp_path / "torus.off"), str(tmp_path / "torus.ply")]
        log = run_tool("tools/infer_points.py", str(cfg), str(ckpt), *files, "--show-dir", str(tmp_path / "infer"))
        assert "torus.off:" in log and "torus.ply:" in log and len(list((tmp_path / "infer").glob("*.png"))) == 2
        lines = [line for line in log.splitlines() if line.startswith(files[0]) or line.startswith(files[1])]
        deployed = run_tool("tools/infer_points.py", str(cfg), str(ckpt), *files, "--deploy")
        assert [line for line in deployed.splitlines() if line.startswith(tuple(files))] == lines
