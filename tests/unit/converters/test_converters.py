"""Checkpoint conversion errors name the file and the offending keys; outputs are written atomically."""
from __future__ import annotations

import os

import pytest
import torch

from backbones import MixerViT
from backbones.cli import convert as convert_checkpoint
from backbones.converters import ConversionError
from backbones.converters import convert_checkpoint as convert


def timm_like_state(depth: int = 12) -> dict:
    """A vit-tiny state dict in timm's layout, built from our own model by the inverse renames."""
    sd = {}
    for k, v in MixerViT("vit-tiny").state_dict().items():
        k = k.replace("stem.", "patch_embed.").replace("pos_embed.pos_embed", "pos_embed").replace(".mixer.", ".attn.")
        sd[k] = v
    sd["head.weight"], sd["head.bias"] = torch.zeros(1000, 192), torch.zeros(1000)
    return sd


def test_roundtrip_and_atomic_write(tmp_path) -> None:  # noqa: ANN001
    src, dst = tmp_path / "vit.pth", tmp_path / "out" / "vit.pth"
    torch.save(timm_like_state(), src)
    arch, state = convert("timm", str(src), str(dst))
    assert arch == "vit-tiny" and dst.exists()
    assert os.listdir(dst.parent) == [dst.name]  # no temporary file left beside it
    assert set(torch.load(dst, weights_only=True)["state_dict"]) == set(state)


def test_corrupt_file(tmp_path, capsys) -> None:  # noqa: ANN001
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"\x80\x02not a checkpoint at all")
    assert convert_checkpoint.main(["timm", str(bad), str(tmp_path / "o.pth")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "not a readable PyTorch checkpoint" in err
    assert not (tmp_path / "o.pth").exists()


def test_missing_file(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(ConversionError, match="no such checkpoint file"):
        convert("ff", str(tmp_path / "nope.pth"))


def test_foreign_checkpoint_names_keys(tmp_path) -> None:  # noqa: ANN001
    """A checkpoint of another family fails with the unknown and missing keys named."""
    src = tmp_path / "resnet.pth"
    torch.save({"state_dict": {"conv1.weight": torch.zeros(64, 3, 7, 7), "fc.weight": torch.zeros(10, 64)}}, src)
    with pytest.raises(ConversionError) as err:
        convert("deepvit", str(src))
    msg = str(err.value)
    assert str(src) in msg and "conv1.weight" in msg and "missing keys" in msg


def test_extra_and_mismatched_keys_are_named(tmp_path) -> None:  # noqa: ANN001
    sd = timm_like_state()
    sd["dist_token"] = torch.zeros(1, 1, 192)  # a distilled DeiT: not one of our presets
    torch.save(sd, tmp_path / "a.pth")
    with pytest.raises(ConversionError, match=r"unknown keys: dist_token"):
        convert("timm", str(tmp_path / "a.pth"))
    sd = timm_like_state()
    sd["blocks.0.attn.qkv.weight"] = torch.zeros(10, 192)
    torch.save(sd, tmp_path / "b.pth")
    with pytest.raises(ConversionError, match=r"shape mismatch: blocks\.0\.mixer\.qkv\.weight"):
        convert("timm", str(tmp_path / "b.pth"))


def test_wrong_format_for_family(tmp_path) -> None:  # noqa: ANN001
    torch.save(timm_like_state(), tmp_path / "vit.pth")
    with pytest.raises(ConversionError, match="matches no preset"):
        convert("eamlp", str(tmp_path / "vit.pth"))
    with pytest.raises(ConversionError, match="unknown checkpoint format"):
        convert("caffe", str(tmp_path / "vit.pth"))


def test_unknown_arch_is_a_usage_error(tmp_path, capsys) -> None:  # noqa: ANN001
    torch.save(timm_like_state(), tmp_path / "vit.pth")
    with pytest.raises(SystemExit) as exit_info:
        convert_checkpoint.main(["timm", str(tmp_path / "vit.pth"), str(tmp_path / "o.pth"), "--arch", "vit-huge"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'vit-huge'" in err and "deit-small" in err
    assert not (tmp_path / "o.pth").exists()
