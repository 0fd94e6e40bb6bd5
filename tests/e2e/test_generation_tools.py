"""GAN training end to end: exact resume with two optimizers, and the train / test / generate tools on tiny runs."""
from __future__ import annotations

import re
from pathlib import Path

import torch

from backbones.engine.checkpoint import safe_load
from tests.support import run_tool
from tests.support.gan import tiny_config

ENV = {"OMP_NUM_THREADS": "1"}


def assert_same_gan_state(a: dict, b: dict) -> None:
    """Same weights and buffers, and the same state of both optimizers, bit for bit."""
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for k, v in a["state_dict"].items():
        assert torch.equal(v, b["state_dict"][k]), k
    assert set(a["optimizer"]) == set(b["optimizer"]) == {"generator", "discriminator"}
    for name in ("generator", "discriminator"):
        sa, sb = a["optimizer"][name]["state"], b["optimizer"][name]["state"]
        assert sa.keys() == sb.keys() and len(sa) > 0, name
        for i in sa:
            for k in sa[i]:
                assert torch.equal(torch.as_tensor(sa[i][k]), torch.as_tensor(sb[i][k])), (name, i, k)


def test_resume_with_two_optimizers_is_exact(digits: Path, tmp_path: Path) -> None:
    """4 iterations straight vs 2, then ``--resume`` to 4: weights, buffers (EMA, spectral-norm vectors, step
    counter) and both Adam states equal bit for bit."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    run_tool("tools/train.py", str(tiny_config(tmp_path, digits, 4, False)), "--work-dir", str(straight), env=ENV)
    run_tool("tools/train.py", str(tiny_config(tmp_path, digits, 2, False)), "--work-dir", str(split), env=ENV)
    run_tool("tools/train.py", str(tiny_config(tmp_path, digits, 4, False)), "--work-dir", str(split), "--resume",
             env=ENV)
    a, b = safe_load(straight / "iter_4.pth"), safe_load(split / "iter_4.pth")
    assert_same_gan_state(a, b)
    early = safe_load(straight / "iter_2.pth")["state_dict"]
    assert any(not torch.equal(v, early[k]) for k, v in a["state_dict"].items())  # iterations 3-4 did train
    assert int(a["state_dict"]["d_steps"]) == 4


def test_train_test_generate_tools(digits: Path, tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, digits, 2)
    work = tmp_path / "work"
    train = run_tool("tools/train.py", str(cfg), "--work-dir", str(work), env=ENV)
    assert re.search(r"gen/fd: [0-9.]+", train.stdout + train.stderr)
    ckpt = work / "iter_2.pth"
    test = run_tool("tools/test.py", str(cfg), str(ckpt), "--work-dir", str(tmp_path / "test"), env=ENV)
    metrics = dict(re.findall(r"gen/(\w+): ([0-9.]+)", test.stdout + test.stderr))
    assert {"fd", "precision", "recall", "sample_acc", "real_acc"} <= set(metrics)
    test = run_tool("tools/test.py", str(cfg), str(ckpt), "--deploy", "--precision", "int8", "--calibrate", "1",
                    "--work-dir", str(tmp_path / "test-int8"), env=ENV)
    assert re.search(r"DeployHook: .*, 9 Linears int8 \(0 left in float; activation scales calibrated on 1 batches",
                     test.stdout + test.stderr)
    assert {"fd", "sample_acc"} <= set(re.findall(r"gen/(\w+): [0-9.]+", test.stdout + test.stderr))
    out = tmp_path / "grid.png"
    gen = run_tool("tools/generate.py", str(cfg), str(ckpt), "--num", "3", "--out", str(out), env=ENV)
    assert str(out) in gen.stdout
    from PIL import Image

    with Image.open(out) as img:  # 10 rows of 3 samples, 2 px apart
        assert img.size == (3 * 34 + 2, 10 * 34 + 2) and img.mode == "L"
    one = run_tool("tools/generate.py", str(cfg), str(ckpt), "--num", "4", "--label", "7", "--out",
                   str(tmp_path / "seven.png"), env=ENV)
    assert "1 x 4 samples" in one.stdout
    with Image.open(tmp_path / "seven.png") as img:
        assert img.size == (4 * 34 + 2, 34 + 2)
