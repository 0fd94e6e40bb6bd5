"""Plain and converted models export to TorchScript, ONNX (run with onnxruntime) and torch.export, and the
files compute what the eager model computes, also after the model has run eagerly."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from backbones import MixerViT, convert_to_deploy
from backbones.deploy.export import FORMATS, differences, export, run_exported
from backbones.reference import randomize_

#: the smallest preset of each family, two blocks deep, at 64 px
FAMILIES = ["vit-tiny", "ff-tiny", "deepvit-16b", "eamlp-7"]


class Classifier(nn.Module):
    def __init__(self, preset: str) -> None:
        super().__init__()
        self.backbone = MixerViT(arch=dict(preset=preset, depth=2), img_size=64)
        self.head = nn.Linear(self.backbone.embed_dims, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x)[-1])


@pytest.mark.parametrize("deploy", [False, True], ids=["plain", "deploy"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("preset", FAMILIES)
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
