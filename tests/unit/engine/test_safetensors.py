"""safetensors: converted checkpoints written as ``.safetensors`` load through every loader of the zoo (issue 41,
item 6); an official state dict in the format converts."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import backbones
from backbones.converters import convert_checkpoint
from backbones.engine.checkpoint import CheckpointReadError, safe_load
from backbones.engine.checkpoint.loaders import load_weights
from tests.support.official import container, source_model


def test_a_converted_checkpoint_round_trips_as_safetensors(tmp_path: Path) -> None:
    fmt, ref = source_model("vit-tiny")
    torch.save(container(fmt, ref.state_dict()), tmp_path / "official.pth")
    _, state = convert_checkpoint(fmt, str(tmp_path / "official.pth"), str(tmp_path / "vit.safetensors"))
    assert (tmp_path / "vit.safetensors").read_bytes()[8:9] == b"{"  # the format's JSON header, not a zip
    loaded = safe_load(tmp_path / "vit.safetensors")
    assert loaded.keys() == state.keys() and all(torch.equal(loaded[k], v) for k, v in state.items())
    assert load_weights(str(tmp_path / "vit.safetensors")).keys() == state.keys()  # mmengine's scheme route too
    from mmengine.runner.checkpoint import CheckpointLoader

    assert CheckpointLoader.load_checkpoint(str(tmp_path / "vit.safetensors")).keys() == state.keys()
    init = dict(type="Pretrained", checkpoint=str(tmp_path / "vit.safetensors"), prefix="backbone.")
    model = backbones.MixerViT("vit-tiny", init_cfg=init)
    model.init_weights()
    torch.testing.assert_close(model.cls_token, state["backbone.cls_token"])
    # an official state dict shipped as safetensors converts like its .pth
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(tmp_path / "timm.safetensors"))
    _, again = convert_checkpoint(fmt, str(tmp_path / "timm.safetensors"))
    assert all(torch.equal(again[k], v) for k, v in state.items())


def test_a_damaged_safetensors_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\xff" * 64)
    with pytest.raises(CheckpointReadError, match=r"bad\.safetensors is not a valid safetensors file"):
        safe_load(bad)
