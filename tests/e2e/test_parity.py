"""Converted official checkpoints give the official logits (relative max error < 1e-4, float32).

For self-attention presets the source is timm's model; for FF-only, DeepViT and EAMLP it is an
independent reference written from the official code (lab/reference/) with the official key
names. Each source model gets random weights and BatchNorm statistics, is saved in its official
container, converted by tools/convert_checkpoint.py, loaded with strict=True into the model built
from the preset's config (found through model-index.yml), and compared in eval mode.
"""
from __future__ import annotations

import pytest
import torch
import yaml

from backbones import PRESETS, convert_to_deploy
from backbones.cli import convert as convert_checkpoint
from tests.support import ROOT, build_classifier, load_cfg
from tests.support.official import container, source_model


def config_of(arch: str) -> str:
    metafiles = yaml.safe_load((ROOT / "model-index.yml").read_text())["Import"]
    models = [m for f in metafiles for m in yaml.safe_load((ROOT / f).read_text())["Models"]]
    return str(ROOT / next(m["Config"] for m in models if m["Name"] == arch))


@pytest.mark.parametrize("arch", sorted(PRESETS))
def test_converted_checkpoint_gives_official_logits(arch: str, tmp_path) -> None:  # noqa: ANN001
    from mmengine.runner import load_checkpoint

    torch.manual_seed(0)
    fmt, ref = source_model(arch)
    ref.eval()
    assert sum(p.numel() for p in ref.parameters()) == PRESETS[arch]["params"]  # the official count
    src, dst = tmp_path / "official.pth", tmp_path / "converted.pth"
    torch.save(container(fmt, ref.state_dict()), src)
    assert convert_checkpoint.main([fmt, str(src), str(dst)]) == 0

    model = build_classifier(load_cfg(config_of(arch)))
    load_checkpoint(model, str(dst), map_location="cpu", strict=True)
    model.eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        want = ref(x)
        got = model(x, mode="tensor")
        err = ((got - want).abs().max() / want.abs().max()).item()
        assert err < 1e-4, f"{arch}: relative max error {err:.2e}"
        deployed = convert_to_deploy(model)(x, mode="tensor")  # the deploy form of the converted weights
    err = ((deployed - want).abs().max() / want.abs().max()).item()
    assert err < 1e-4, f"{arch} (deploy): relative max error {err:.2e}"
    assert torch.load(dst, weights_only=True)["meta"]["arch"] == arch


def test_detected_preset_is_reported(tmp_path, capsys) -> None:  # noqa: ANN001
    fmt, ref = source_model("eamlp-7")
    src = tmp_path / "ea.pth"
    torch.save(container(fmt, ref.state_dict()), src)
    assert convert_checkpoint.main([fmt, str(src), str(tmp_path / "out.pth")]) == 0
    assert "preset eamlp-7" in capsys.readouterr().out
