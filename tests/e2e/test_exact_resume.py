"""Exact resume: a training run killed mid-epoch and resumed ends as the uninterrupted run; two processes with
half the batch train on the single process's batches."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from backbones.engine.checkpoint.safe_load import safe_load
from backbones.engine.runner.seeding import SeedTaggedSampler
from tests.support import DIGITS_CFG, ROOT, assert_same_training_state

EPOCHS, ITERS_PER_EPOCH = 3, 4


def config(tmp_path: Path, data_root: Path, kill: str = "") -> Path:
    """The shipped digits config, 128 training images (4 iterations of 32) for 3 epochs, and ``kill`` (a KillHook)."""
    cfg = tmp_path / f"digits{abs(hash(kill))}.py"
    hooks = f"custom_hooks = [dict(type='KillHook', {kill})]\ncustom_imports = dict(imports=['backbones', " \
            f"'tests.support.kill_hook'], allow_failed_imports=False)" if kill else ""
    cfg.write_text(f"""
_base_ = ['{DIGITS_CFG}']
data_root = '{data_root}'
train_dataloader = dict(batch_size=32, dataset=dict(data_root=data_root, indices=128))
val_dataloader = dict(dataset=dict(data_root=data_root, indices=64))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs={EPOCHS}, val_interval=1)
model = dict(backbone=dict(drop_path_rate=0.3))
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2))
{hooks}
""")
    return cfg


def train(cfg: Path, work: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "tools/train.py", str(cfg), "--work-dir", str(work), *extra], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen, code: int = 0) -> str:
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == code, out[-3000:]
    return out


def test_killed_and_resumed_runs_end_as_the_uninterrupted_run(tmp_path, digits) -> None:  # noqa: ANN001
    kills = {"mid_epoch": f"at_iter={ITERS_PER_EPOCH + 2}", "epoch_boundary": "after_epoch=2"}
    reference = train(config(tmp_path, digits), tmp_path / "reference")
    killed = {name: train(config(tmp_path, digits, kill), tmp_path / name) for name, kill in kills.items()}
    finish(reference)
    for name, proc in killed.items():
        finish(proc, 137)
        assert not (tmp_path / name / f"epoch_{EPOCHS}.pth").exists()
    resumed = {name: train(config(tmp_path, digits), tmp_path / name, "--resume") for name in kills}
    want = safe_load(tmp_path / "reference" / f"epoch_{EPOCHS}.pth")
    for name, proc in resumed.items():
        out = finish(proc)
        assert f"resumed epoch: {1 if name == 'mid_epoch' else 2}" in out, out[-2000:]
        assert_same_training_state(safe_load(tmp_path / name / f"epoch_{EPOCHS}.pth"), want)
    first = safe_load(tmp_path / "reference" / "epoch_2.pth")["state_dict"]  # the last epoch changed the weights
    assert not all(torch.equal(v, first[k]) for k, v in want["state_dict"].items())


def test_two_processes_with_half_the_batch_train_on_the_single_process_batches(monkeypatch) -> None:  # noqa: ANN001
    """tools/dist_train.sh CONFIG 2 with half the batch each: at every step the two ranks' batches together are
    the single process's batch (same samples, same epoch and seed tags, hence the same augmentation draws), so
    a distributed run differs from the single one only in per-rank draws (drop-path) and float order."""
    from mmengine.dataset import sampler as mm_sampler

    data = list(range(1438))  # the digits training set's size
    single = list(SeedTaggedSampler(data, shuffle=True, seed=3))
    ranks = []
    for rank in (0, 1):
        monkeypatch.setattr(mm_sampler, "get_dist_info", lambda rank=rank: (rank, 2))
        ranks.append(list(SeedTaggedSampler(data, shuffle=True, seed=3)))
    batch = 64
    for step in range(len(data) // batch):
        halves = [r[step * batch // 2:(step + 1) * batch // 2] for r in ranks]
        together = sorted((int(i), i.seed, i.epoch) for h in halves for i in h)
        assert together == sorted((int(i), i.seed, i.epoch) for i in single[step * batch:(step + 1) * batch])
