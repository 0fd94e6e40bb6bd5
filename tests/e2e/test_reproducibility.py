"""A training run is a function of its seed on a given machine: two short digits runs with the same seed
(data-loader workers included) end with identical weights, another seed gives other weights; and
lab/tools/train_table.py reports the spread over seeds."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import backbones  # noqa: F401  (mmengine's checkpoint loader reads the runs' checkpoints, weights only)
from tests.support import ROOT

DIGITS_CFG = ROOT / "configs/classification/digits/mixervit_selfattention-p4-w96-d4_1xb64-40e_digits-32px.py"


def short_runs(tmp_path: Path, data_root: Path, runs: dict[str, list[str]]) -> dict[str, dict[str, torch.Tensor]]:
    """Train the digits config for 2 iterations (2 persistent loader workers, as the config) once per entry of
    ``runs`` (name -> extra ``--cfg-options``), each in a process of its own, all at once; returns each run's
    final weights."""
    cfg = tmp_path / "short.py"
    cfg.write_text(f"""
_base_ = ['{DIGITS_CFG}']
data_root = '{data_root}'
train_dataloader = dict(batch_size=32, dataset=dict(data_root=data_root, indices=64))
val_dataloader = dict(dataset=dict(data_root=data_root, indices=8))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1, val_interval=10)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, save_best=None))
""")
    procs = {}
    for name, options in runs.items():
        cmd = [sys.executable, "tools/train.py", str(cfg), "--work-dir", str(tmp_path / name)]
        cmd += ["--cfg-options", *options] if options else []
        procs[name] = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                       env={**os.environ, "OMP_NUM_THREADS": "2"})
    from mmengine.runner import CheckpointLoader

    weights = {}
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"run {name}: " + out[-3000:]
        ckpt = CheckpointLoader.load_checkpoint(str(tmp_path / name / "epoch_1.pth"), map_location="cpu")
        weights[name] = ckpt["state_dict"]
    return weights


def test_same_seed_same_weights_other_seed_other_weights(tmp_path, digits) -> None:  # noqa: ANN001
    w = short_runs(tmp_path, digits, {"a": [], "b": [], "c": ["randomness.seed=1"]})
    a, b, c = w["a"], w["b"], w["c"]
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert different == [], f"two runs with seed 0 differ in {different[:5]}"
    assert any(not torch.equal(a[k], c[k]) for k in a), "seed 1 trained the same weights as seed 0"


def test_task_table_rows_come_from_the_registry_and_report_the_spread(root: Path) -> None:
    """lab/tools/train_table.py: every registered mixer with a config of the task is a row (found by the naming scheme);
    several seeds give the median [min-max]."""
    from backbones import MIXERS
    from lab.runs.report import spread
    from lab.runs.tables import TASKS, mixer_slug, table, task_configs

    assert spread([97.49, 98.05, 97.77]) == dict(min=97.49, median=97.77, max=98.05, n=3)
    with pytest.raises(ValueError):
        spread([])
    digits = task_configs(root, TASKS["digits"])
    assert set(digits) == {m for m in MIXERS if m != "OffsetAttention"}  # PCT's mixer has no image config
    assert digits["FeedForwardMixer"].name.startswith(f"mixervit_{mixer_slug('FeedForwardMixer')}-")
    assert "eanet" in task_configs(root, TASKS["digit-scenes"])
    assert "OffsetAttention" in task_configs(root, TASKS["shapes-part"])
    run = dict(params=311_338, seconds=dict(train=180.0))
    one = table([("SelfAttention", digits["SelfAttention"], [dict(run, metrics={"accuracy/top1": 97.49})])],
                TASKS["digits"], root)
    assert "| 97.49 | 3.0 |" in one and "seeds" not in one
    several = table([("SelfAttention", digits["SelfAttention"],
                      [dict(run, metrics={"accuracy/top1": t}) for t in (98.05, 97.49, 97.77)])], TASKS["digits"], root)
    assert "| 97.77 [97.49-98.05], 3 seeds |" in several and several.count("| SelfAttention |") == 1
