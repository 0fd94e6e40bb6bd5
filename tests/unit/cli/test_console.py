"""The console commands (issue 41, items 4-5): each answers ``--help`` and usage errors without importing torch or
the library, names itself in its usage line, parses with the same flags as the library's tools; the input-size
option scales a shipped image config's pipelines and model together."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import backbones_cli
from backbones_cli import configs, parsers, prepare_data
from tests.support import DIGITS_CFG, ROOT, load_cfg

COMMANDS = sorted([*backbones_cli.COMMANDS, "backbones-configs", "backbones-prepare-data"])

LIGHT = """
import io, json, sys, contextlib
name = sys.argv[1]
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        if name == 'backbones-configs':
            from backbones_cli.configs import main; main(['--help'], prog=name)
        elif name == 'backbones-prepare-data':
            from backbones_cli.prepare_data import main; main(['--help'], prog=name)
        else:
            from backbones_cli import dispatch; dispatch(name, ['--help'])
    except SystemExit as e:
        code = e.code
heavy = sorted(m for m in ('torch', 'backbones', 'mmpretrain', 'mmseg', 'timm') if m in sys.modules)
print(json.dumps(dict(code=code, usage=out.getvalue().splitlines()[0], heavy=heavy)))
"""


@pytest.mark.parametrize("command", COMMANDS)
def test_help_answers_without_the_library_and_names_the_command(command: str) -> None:
    proc = subprocess.run([sys.executable, "-c", LIGHT, command], cwd=ROOT, capture_output=True, text=True, timeout=60)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 0 and result["usage"].startswith(f"usage: {command} "), result
    assert result["heavy"] == [], result  # nothing heavy was imported to answer


def test_configs_list_and_path_without_importing_the_library() -> None:
    code = ("import sys; from backbones_cli.configs import find_config, shipped_configs; "
            "print(len(shipped_configs('digits/*')), find_config('vit-tiny').name, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    count, name, heavy = out.split()
    assert int(count) >= 5 and name.startswith("mixervit_vit-tiny") and heavy == "False"
    assert configs.find_config(DIGITS_CFG.name).resolve() == DIGITS_CFG.resolve()
    with pytest.raises(FileNotFoundError, match="no shipped config or model named 'nope'"):
        configs.find_config("nope")


def test_the_spelled_out_names_agree_with_the_library() -> None:
    from backbones.bundled.digit_pairs import LABEL_RULES
    from backbones.converters import FORMATS as CHECKPOINT_FORMATS
    from backbones.deploy.export import FORMATS as EXPORT_FORMATS
    from backbones.deploy.precision import PRECISIONS

    assert tuple(PRECISIONS) == parsers.PRECISIONS
    assert tuple(sorted(EXPORT_FORMATS)) == parsers.EXPORT_FORMATS
    assert tuple(sorted(CHECKPOINT_FORMATS)) == parsers.CHECKPOINT_FORMATS
    assert tuple(sorted(LABEL_RULES)) == prepare_data.PAIR_RULES


def test_usage_errors_answer_before_the_library(capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as e:
        backbones_cli.dispatch("backbones-test", ["cfg.py", "ckpt.pth", "--precision", "int4"])
    assert e.value.code == 2 and "invalid choice: 'int4'" in capsys.readouterr().err


def test_prepare_data_builds_a_dataset(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    assert prepare_data.main(["digits", str(tmp_path / "digits"), "--size", "16"]) == 0
    info = json.loads((tmp_path / "digits" / "dataset.json").read_text())
    assert info["settings"]["size"] == 16 and info["train"] + info["val"] == 1797  # scikit-learn's digits, all of them
    assert f"digits: {info['train']} train / {info['val']} val images" in capsys.readouterr().out


def test_input_size_scales_pipelines_and_model_together() -> None:
    from backbones.engine.runner.config import set_input_size

    cfg = load_cfg(DIGITS_CFG)
    changed = set_input_size(cfg, 48)
    assert cfg.model.backbone.img_size == 48 and "model.backbone.img_size: 32 -> 48" in changed
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        sizes = {s["type"]: s.get("scale", s.get("crop_size")) for s in cfg[loader].dataset.pipeline
                 if s["type"] in ("RandomResizedCrop", "ResizeEdge", "CenterCrop")}
        assert set(sizes.values()) == {48}, (loader, sizes)
    imagenet = load_cfg(next((ROOT / "configs/classification/imagenet").glob("mixervit_vit-tiny*.py")))
    set_input_size(imagenet, 384)
    test = {s["type"]: s.get("scale", s.get("crop_size")) for s in imagenet.test_dataloader.dataset.pipeline}
    assert (test["ResizeEdge"], test["CenterCrop"]) == (439, 384)  # 256:224 kept
    seg = load_cfg(next((ROOT / "configs/segmentation/digit_scenes").glob("upernet_selfattention*.py")))
    set_input_size(seg, 96)
    assert seg.model.backbone.img_size == 96 and tuple(seg.model.data_preprocessor.size) == (96, 96)
    gan = load_cfg(next((ROOT / "configs/generation/digits").glob("*.py")))
    with pytest.raises(ValueError, match="needs an image config whose model has backbone.img_size"):
        set_input_size(gan, 64)
