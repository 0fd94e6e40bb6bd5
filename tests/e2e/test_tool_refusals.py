"""The tools refuse what they cannot handle (issue 42): NaN / inf weights in generate, test and export; mis-shaped
weights in generate; a grid sampled in batches; the generate command's name in its usage line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from backbones.engine.runner.config import build_model
from tests.support import DIGITS_CFG, ROOT, load_cfg, small_config

GAN_CFG = ROOT / "configs/generation/digits/sngan_none-w16_1xb32-1k_digits-32px.py"


@pytest.fixture(scope="module")
def gan_state() -> dict:
    torch.manual_seed(0)
    return build_model(load_cfg(GAN_CFG)).state_dict()


def poisoned(state: dict, key: str, value: float, path: Path) -> Path:
    """``state`` with one value of ``key`` set to ``value``, saved as a checkpoint at ``path``."""
    state = {k: v.clone() for k, v in state.items()}
    state[key].view(-1)[3] = value
    torch.save(dict(state_dict=state), path)
    return path


def ema_weight(state: dict) -> str:
    return next(k for k in state if k.startswith("generator_ema.") and k.endswith("weight.original"))


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_generate_refuses_non_finite_weights(value: float, gan_state: dict, tmp_path: Path) -> None:
    """NaN (or inf) generator weights wrote an all-black grid, exit 0."""
    from backbones.cli.generate import main

    key = ema_weight(gan_state)
    ckpt = poisoned(gan_state, key, value, tmp_path / "bad.pth")
    with pytest.raises(SystemExit) as e:
        main([str(GAN_CFG), str(ckpt), "--num", "2", "--out", str(tmp_path / "g.png")])
    assert f"checkpoint {ckpt}: weight '{key}' holds 1 NaN or infinite values" in str(e.value.code)
    assert not (tmp_path / "g.png").exists()


def test_generate_names_mis_shaped_weights(gan_state: dict, tmp_path: Path) -> None:
    """A checkpoint of another width: a traceback from load_state_dict, now an error naming the file and the key."""
    from backbones.cli.generate import main

    state = dict(gan_state)
    key = next(k for k in state if k.endswith("gain.weight"))
    state[key] = state[key][:, :-1].clone()
    torch.save(dict(state_dict=state), tmp_path / "narrow.pth")
    with pytest.raises(SystemExit) as e:
        main([str(GAN_CFG), str(tmp_path / "narrow.pth"), "--num", "2", "--out", str(tmp_path / "g.png")])
    assert str(tmp_path / "narrow.pth") in str(e.value.code) and key in str(e.value.code)


def test_grid_is_sampled_in_batches(gan_state: dict) -> None:
    """``--num 2000`` generated all 20,000 samples in one batch (out of memory); now ``batch`` at a time, and the
    grid is the same whatever the batch."""
    from backbones.generation.sampling import sample_grid

    model = build_model(load_cfg(GAN_CFG))
    model.load_state_dict(gan_state)
    sizes: list[int] = []
    real = model.generate

    def counting(labels: torch.Tensor, *args: object, **kwargs: object) -> torch.Tensor:
        sizes.append(len(labels))
        return real(labels, *args, **kwargs)

    model.generate = counting
    whole = sample_grid(model, 10, 5, seed=3, batch=1000)
    assert sizes == [50]
    sizes.clear()
    parts = sample_grid(model, 10, 5, seed=3, batch=7)
    assert max(sizes) == 7 and sum(sizes) == 50
    assert torch.equal(whole, parts)


def test_generate_console_command(tmp_path: Path) -> None:
    """tools/generate.py is a thin wrapper of backbones.cli.generate, with the console command's flags (the console
    command's own usage line: tests/unit/cli/test_console.py)."""
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "tools/generate.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                         env=env, check=True).stdout
    assert out.startswith("usage: generate.py") and "--batch BATCH" in out, out[:200]
    assert "backbones-generate=backbones_cli:generate" in (ROOT / "setup.py").read_text()
    assert len((ROOT / "tools/generate.py").read_text().splitlines()) < 12


@pytest.fixture(scope="module")
def classifier_state() -> dict:
    torch.manual_seed(0)
    return build_model(load_cfg(DIGITS_CFG)).state_dict()


def test_test_tool_refuses_non_finite_weights(classifier_state: dict, tmp_path: Path, digits: Path) -> None:
    from backbones.cli import test as test_tool

    key = next(k for k in classifier_state if k.endswith("attn.qkv.weight") or k.endswith("qkv.weight"))
    ckpt = poisoned(classifier_state, key, float("inf"), tmp_path / "bad.pth")
    cfg = small_config(tmp_path, digits)
    with pytest.raises(SystemExit) as e:
        test_tool.main([str(cfg), str(ckpt), "--work-dir", str(tmp_path / "w")])
    assert f"checkpoint {ckpt}: weight '{key}' holds 1 NaN or infinite values" in str(e.value.code)


def test_export_tool_refuses_non_finite_weights(classifier_state: dict, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    from backbones.cli.export import main

    key = next(k for k in classifier_state if k.endswith("head.fc.weight") or k.endswith("fc.weight"))
    ckpt = poisoned(classifier_state, key, float("nan"), tmp_path / "bad.pth")
    assert main([str(DIGITS_CFG), str(ckpt), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 2
    assert f"checkpoint {ckpt}: weight '{key}' holds 1 NaN or infinite values" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize(("first", "second"), [("int8", "bf16"), ("bf16", "int8"), ("int8", "fp32")])
def test_second_precision_conversion_refused_before_the_model_changes(first: str, second: str) -> None:
    """int8 then bf16 was accepted and every forward failed after (the model changed in place); now refused, and the
    model still computes what it did."""
    from backbones.deploy import convert_to_deploy

    torch.manual_seed(0)
    model = build_model(load_cfg(DIGITS_CFG)).backbone
    x = torch.randn(2, 3, 32, 32)
    convert_to_deploy(model, first)
    with torch.no_grad():
        before = model(x)[-1]
    modules = [type(m) for m in model.modules()]
    with pytest.raises(ValueError, match=rf"already converted to '{first}'.*Convert a fresh copy"):
        convert_to_deploy(model, second)
    assert [type(m) for m in model.modules()] == modules
    with torch.no_grad():
        assert torch.equal(model(x)[-1], before)
    convert_to_deploy(model, first)  # the same precision again: nothing to change, as before


def test_calibration_caps_a_finite_loader_and_refuses_an_endless_one(tmp_path: Path, digits: Path) -> None:
    """``--calibrate 100000`` on a one-batch set logged "calibrated on 100000 batches"; on a GAN config it read an
    infinite sampler (about 21 hours). Now capped at the loader's length (and said), and refused past one pass."""
    from backbones.deploy.hook import calibration_batches

    cfg = load_cfg(small_config(tmp_path, digits))
    data = calibration_batches(cfg, "val", 100000)
    assert (data.count, data.requested) == (1, 100000) and len(list(data)) == 1
    assert data.describe() == "1 batches of the val loader (100000 asked for; the loader has 1)"
    gan = load_cfg(GAN_CFG)
    gan.train_dataloader.dataset.data_root = str(digits)
    with pytest.raises(ValueError, match=r"sampler \(SeedTaggedInfiniteSampler\) never ends: 100000 batches is "
                                         r"more than one pass over its \d+ samples \((\d+) batches\)"):
        calibration_batches(gan, "train", 100000)
    assert len(list(calibration_batches(gan, "train", 2))) == 2


def test_test_tool_logs_the_calibration_batches_used(classifier_state: dict, tmp_path: Path, digits: Path) -> None:
    from backbones.cli import test as test_tool

    torch.save(dict(state_dict=classifier_state), tmp_path / "m.pth")
    cfg = small_config(tmp_path, digits)
    work = tmp_path / "w"
    test_tool.main([str(cfg), str(tmp_path / "m.pth"), "--work-dir", str(work), "--deploy", "--precision", "int8",
                    "--calibrate", "100000", "--calibrate-from", "val"])
    log = "".join(p.read_text() for p in work.glob("*/*.log"))
    assert "activation scales calibrated on 1 batches of the val loader (100000 asked for; the loader has 1)" in log


def test_export_calibration_on_a_missing_dataset_is_named(classifier_state: dict, tmp_path: Path) -> None:
    """A FileNotFoundError traceback before; now an error naming the data folder."""
    from PIL import Image

    from backbones.cli.export import main

    torch.save(dict(state_dict=classifier_state), tmp_path / "m.pth")
    Image.new("RGB", (32, 32)).save(tmp_path / "x.png")
    cfg = small_config(tmp_path, tmp_path / "no-data")
    with pytest.raises(SystemExit) as e:
        main([str(cfg), str(tmp_path / "m.pth"), "--format", "onnx", "--precision", "int8", "--calibrate", "2",
              "--input", str(tmp_path / "x.png"), "--out", str(tmp_path / "m.onnx")])
    assert f"data_root {tmp_path / 'no-data'}" in str(e.value.code) and "does not exist" in str(e.value.code)
