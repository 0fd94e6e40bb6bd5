"""Plain and converted models export to TorchScript, ONNX (run with onnxruntime) and torch.export, and the
files compute what the eager model computes, also after the model has run eagerly."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from conftest import run_tool, small_config

from backbones import PRESETS, MixerViT, convert_to_deploy
from backbones.deploy.export import FORMATS, differences, export, run_exported
from backbones.reference import randomize_

#: the smallest preset of each family, and DeepViT-S (CNN stem, scaled residuals, self-attention and
#: Re-attention blocks), two blocks deep, at 64 px; the other presets run with ``-m slow``
FAMILIES = ["vit-tiny", "ff-tiny", "deepvit-16b", "eamlp-7", "deepvit-s"]
PRESET_PARAMS = FAMILIES + [pytest.param(p, marks=pytest.mark.slow) for p in PRESETS if p not in FAMILIES]


class Classifier(nn.Module):
    def __init__(self, preset: str) -> None:
        super().__init__()
        arch = dict(preset=preset, depth=2)
        mixer = PRESETS[preset]["mixer"]
        if isinstance(mixer, list):  # a per-block list: its first and its last block type
            arch["mixer"] = [mixer[0], mixer[-1]]
        self.backbone = MixerViT(arch=arch, img_size=64)
        self.head = nn.Linear(self.backbone.embed_dims, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x)[-1])


@pytest.mark.parametrize("deploy", [False, True], ids=["plain", "deploy"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("preset", PRESET_PARAMS)
def test_export_computes_what_eager_computes(preset: str, fmt: str, deploy: bool, tmp_path) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    model = randomize_(Classifier(preset)).eval()
    x, other = torch.randn(2, 3, 64, 64), torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        model(x)  # has run eagerly before the export
        if deploy:
            convert_to_deploy(model)
        want, want_other = model(x), model(other)
    path = export(model, x, fmt, tmp_path / f"model{FORMATS[fmt]}")
    assert path.is_file() and not list(tmp_path.glob(".*"))  # no temporary file left
    for inputs, expected in ((x, want), (other, want_other)):  # not specialised to the tracing input
        _, rel = differences(run_exported(fmt, path, inputs), expected)
        assert rel < 1e-4, f"{preset} {fmt}: relative difference {rel:.2e}"


def test_unknown_format_is_refused(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="unknown export format 'tflite'"):
        export(nn.Linear(2, 2), torch.randn(1, 2), "tflite", tmp_path / "m")


def test_test_deploy_and_export_tools_on_a_trained_checkpoint(tmp_path, digits) -> None:  # noqa: ANN001, F811
    """tools/test.py --deploy reports the plain model's accuracy; tools/deploy/export.py writes a checked file."""
    import re

    cfg = small_config(tmp_path, digits, epochs=1)
    work = tmp_path / "work"
    run_tool("tools/train.py", str(cfg), "--work-dir", str(work))
    ckpt = work / "epoch_1.pth"
    accuracy = []
    for extra in ([], ["--deploy"]):
        log = run_tool("tools/test.py", str(cfg), str(ckpt), "--work-dir", str(tmp_path / "t"), *extra)
        accuracy.append(re.findall(r"accuracy/top1: ([0-9.]+)", log.stdout + log.stderr)[-1])
    assert accuracy[0] == accuracy[1]
    assert "converted to its deploy form" in log.stdout + log.stderr
    for fmt in ("onnx", "torchscript"):
        out = tmp_path / f"digits.{fmt}"
        proc = run_tool("tools/deploy/export.py", str(cfg), str(ckpt), "--format", fmt, "--deploy", "--batch", "4",
                        "--out", str(out))
        assert out.is_file() and "input (4, 3, 32, 32)" in proc.stdout
        assert float(re.findall(r"max rel difference ([0-9.e+-]+)", proc.stdout)[0]) < 1e-4
