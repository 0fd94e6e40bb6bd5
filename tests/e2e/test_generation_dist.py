"""GAN training in several processes: tools/dist_train.sh (torchrun, gloo on CPU) runs the shipped GAN config with
mmengine's MMSeparateDistributedDataParallel (each network wrapped on its own, the model's train_step driving
both optimizers); the processes end with the same parameters, and the checkpoint resumes in one process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from backbones.engine.checkpoint import safe_load
from tests.support import ROOT, run_tool
from tests.support.gan import tiny_config


def test_two_process_gan_training_agrees_and_resumes_in_one_process(digits: Path, tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, digits, 4, False)
    with cfg.open("a") as f:
        f.write("custom_hooks = [dict(type='WeightsConsistencyHook', parameters_only=True)]\n")
    work = tmp_path / "dist"
    env = {**os.environ, "PORT": "29541", "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(["bash", "tools/dist_train.sh", str(cfg), "2", "--work-dir", str(work)], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "MMSeparateDistributedDataParallel" in log or "loss_g" in log
    report = json.loads((work / "weights_consistency.json").read_text())
    assert report["world_size"] == 2 and report["consistent"] and report["checksums"][0] == report["checksums"][1]
    two = safe_load(work / "iter_4.pth")
    assert int(two["state_dict"]["d_steps"]) == 4 and set(two["optimizer"]) == {"generator", "discriminator"}
    assert not any(k.startswith(("generator.module.", "discriminator.module.")) for k in two["state_dict"])
    # the 2-process checkpoint of iteration 2 resumes in one process and trains to 4
    single = tmp_path / "single"
    run_tool("tools/train.py", str(cfg), "--work-dir", str(single), "--resume", str(work / "iter_2.pth"),
             env={"OMP_NUM_THREADS": "1"})
    one = safe_load(single / "iter_4.pth")
    assert int(one["state_dict"]["d_steps"]) == 4
    early = safe_load(work / "iter_2.pth")["state_dict"]
    assert any(not torch.equal(v, early[k]) for k, v in one["state_dict"].items())
