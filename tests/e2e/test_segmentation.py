"""Segmentation end to end: the zoo's train and test tools on the digit scenes give mIoU and overlays."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support import ROOT

SA_CFG = ROOT / "configs/segmentation/digit_scenes" / "upernet_selfattention-cnn-p4-w64-d4_1xb8-4k_digit-scenes-64px.py"


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:  # noqa: ANN001
    """A tiny digit-scenes set: 24 train / 8 val scenes of 64x64."""
    from backbones.bundled.digit_scenes import prepare

    return prepare(tmp_path_factory.mktemp("seg") / "digit_scenes", n_train=24, n_val=8)


def run_tool(args: list[str], cwd: Path) -> str:
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_train_and_test_produce_miou_and_overlays(scenes, tmp_path) -> None:  # noqa: ANN001
    """tools/train.py for a few iterations, then tools/test.py with --out and --show-dir."""
    cfg = tmp_path / "tiny.py"
    cfg.write_text(f"""
_base_ = ['{SA_CFG}']
data_root = '{scenes}'
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root), **loader)
val_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root), **loader)
test_dataloader = val_dataloader
train_cfg = dict(max_iters=6, val_interval=6)
default_hooks = dict(checkpoint=dict(interval=6), logger=dict(interval=2))
""")
    work = tmp_path / "work"
    out = run_tool([str(ROOT / "tools/train.py"), str(cfg), "--work-dir", str(work)], ROOT)
    assert "mIoU" in out
    ckpt = (work / "last_checkpoint").read_text().strip()
    show = tmp_path / "show"
    out = run_tool([str(ROOT / "tools/test.py"), str(cfg), ckpt, "--work-dir", str(work / "test"),
                    "--out", str(tmp_path / "preds.pkl"), "--show-dir", str(show)], ROOT)
    miou = [float(m) for m in __import__("re").findall(r"mIoU: ([0-9.]+)", out)]
    assert miou and 0.0 <= miou[-1] <= 100.0
    pngs = sorted(show.rglob("*.png"))
    assert len(pngs) == 8, pngs
    overlay = np.asarray(Image.open(pngs[0]))
    assert overlay.ndim == 3 and overlay.shape[2] == 3 and overlay.shape[:2] == (64, 128)  # ground truth | prediction
    assert (tmp_path / "preds.pkl").stat().st_size > 0
