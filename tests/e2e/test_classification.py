"""End to end: the shared train/test tools on the digits set (few iterations), resume, AMP, 2 processes."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from backbones.engine.checkpoint.safe_load import safe_load  # mmengine checkpoints, weights only
from tests.support import ROOT, run_tool, small_config


def test_prepare_digits_is_deterministic(tmp_path, digits) -> None:  # noqa: ANN001
    from backbones.bundled.digits import prepare

    again = prepare(tmp_path / "again")
    a, b = json.loads((digits / "dataset.json").read_text()), json.loads((again / "dataset.json").read_text())
    assert a["sha256"] == b["sha256"] and (a["train"], a["val"]) == (1438, 359)
    for c in range(10):  # stratified: every class is split about 80 / 20
        n_train = len(list((digits / "train" / str(c)).iterdir()))
        n_val = len(list((digits / "val" / str(c)).iterdir()))
        assert 0.15 < n_val / (n_train + n_val) < 0.25
    assert not (tmp_path / "again.partial").exists()


def test_train_then_test_with_outputs(tmp_path, digits) -> None:  # noqa: ANN001
    cfg = small_config(tmp_path, digits)
    work = tmp_path / "work"
    run_tool("tools/train.py", str(cfg), "--work-dir", str(work))
    ckpt = work / "epoch_2.pth"
    assert ckpt.exists() and Path((work / "last_checkpoint").read_text().strip()) == ckpt
    assert not list(work.glob(".*.tmp"))  # atomic writes leave no temporary files
    state = safe_load(ckpt)  # torch's weights-only unpickler + mmengine's types
    assert state["meta"]["epoch"] == 2
    out, show = tmp_path / "preds.pkl", tmp_path / "show"
    proc = run_tool("tools/test.py", str(cfg), str(ckpt), "--work-dir", str(tmp_path / "t"), "--out", str(out),
                    "--show-dir", str(show))
    assert "accuracy/top1" in proc.stdout + proc.stderr
    import pickle

    preds = pickle.loads(out.read_bytes())
    assert len(preds) == 64 and preds[0]["pred_score"].shape == (10,)
    assert len(list(show.rglob("*.png"))) == 64


def test_resume_from_explicit_checkpoint_and_amp(tmp_path, digits) -> None:  # noqa: ANN001
    cfg = small_config(tmp_path, digits, epochs=1)
    work = tmp_path / "w"
    run_tool("tools/train.py", str(cfg), "--work-dir", str(work), "--amp")
    run_tool("tools/train.py", str(cfg), "--work-dir", str(tmp_path / "w2"), "--amp", "--resume",
             str(work / "epoch_1.pth"), "--cfg-options", "train_cfg.max_epochs=2")
    assert (tmp_path / "w2" / "epoch_2.pth").exists()
    bad = subprocess.run([sys.executable, "tools/train.py", str(cfg), "--resume", str(tmp_path / "nope.pth")],
                         cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode != 0 and "nope.pth does not exist" in bad.stderr
    url = subprocess.run([sys.executable, "tools/train.py", str(cfg), "--resume", "https://example.invalid/e.pth"],
                         cwd=ROOT, capture_output=True, text=True)
    assert url.returncode != 0 and "resumes only from local checkpoints" in url.stderr, url.stderr[-2000:]


def test_two_processes_agree(tmp_path, digits) -> None:  # noqa: ANN001
    """tools/dist_train.sh: 2 CPU processes (gloo) train and end with identical weights."""
    cfg = small_config(tmp_path, digits, extra="custom_hooks = [dict(type='WeightsConsistencyHook')]", epochs=1)
    work = tmp_path / "dist"
    env = {**os.environ, "PORT": "29533", "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(["bash", "tools/dist_train.sh", str(cfg), "2", "--work-dir", str(work)], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((work / "weights_consistency.json").read_text())
    assert report["world_size"] == 2 and report["consistent"]
    assert report["checksums"][0] == report["checksums"][1]


def test_distributed_evaluation_equals_single(tmp_path, digits) -> None:  # noqa: ANN001
    """tools/dist_test.sh on 2 processes gives the single-process tools/test.py metric and the same predictions
    in the same order, on a validation set of odd size (the sampler pads a rank; the padding must not count)."""
    import pickle

    import torch

    cfg = small_config(tmp_path, digits, epochs=1,
                       extra="val_dataloader = dict(dataset=dict(data_root=data_root, indices=77))\n"
                             "test_dataloader = val_dataloader")
    run_tool("tools/train.py", str(cfg), "--work-dir", str(tmp_path / "w"))
    ckpt = str(tmp_path / "w" / "epoch_1.pth")
    env = {**os.environ, "PORT": "29534", "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    dist = subprocess.run(["bash", "tools/dist_test.sh", str(cfg), ckpt, "2", "--work-dir", str(tmp_path / "d"),
                           "--out", str(tmp_path / "dist.pkl")], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=600)
    assert dist.returncode == 0, dist.stdout[-3000:] + dist.stderr[-3000:]
    single = run_tool("tools/test.py", str(cfg), ckpt, "--work-dir", str(tmp_path / "s"), "--out",
                      str(tmp_path / "single.pkl"))

    def top1(text: str) -> float:
        found = re.findall(r"accuracy/top1: ([0-9.]+)", text)
        assert found, text[-2000:]
        return float(found[-1])

    assert top1(dist.stdout + dist.stderr) == top1(single.stdout + single.stderr)
    a, b = (pickle.loads((tmp_path / f"{n}.pkl").read_bytes()) for n in ("dist", "single"))
    assert len(a) == len(b) == 77
    assert [p["sample_idx"] for p in a] == [p["sample_idx"] for p in b]
    assert all(torch.allclose(p["pred_score"], q["pred_score"], atol=1e-5) for p, q in zip(a, b))


@pytest.mark.parametrize("world_size", [None, "2"])
def test_leave_worker_exits_only_multi_process_workers(world_size: str | None) -> None:
    """tools/train.py's leave_worker: a worker of a multi-process run exits at once (code 0, output flushed);
    a single process carries on."""
    env = {k: v for k, v in os.environ.items() if k != "WORLD_SIZE"}
    if world_size:
        env["WORLD_SIZE"] = world_size
    code = ("import backbones.cli.train as train; print('done'); "
            "train.common.leave_worker(); print('after')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == (["done"] if world_size else ["done", "after"])
