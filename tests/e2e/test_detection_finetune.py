"""Fine-tuning a ViTDet-style detector (Li et al. 2022) from a converted ImageNet checkpoint: the shipped vit-tiny
FCOS config loads a timm vit_tiny_patch16_224 checkpoint converted by the zoo's converter (random weights: none can
be downloaded here) - every backbone tensor but the class token loaded, the position table's class row dropped and
its 14x14 grid resized to 10x10, the load reported - and its optimizer decays the lr layer by layer (0.7)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.support import ROOT

CONFIG = ROOT / "configs/detection/digit_detection/fcos_vit-tiny-win4-ld0.7_1xb8-2k_digit-detection-160px.py"


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    import timm

    from backbones.converters import convert_checkpoint

    folder = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    official = timm.create_model("vit_tiny_patch16_224", pretrained=False).state_dict()
    torch.save(official, folder / "official.pth")
    arch, state = convert_checkpoint("timm", str(folder / "official.pth"), str(folder / "vit-tiny_in1k.pth"))
    assert arch == "vit-tiny"
    return folder / "vit-tiny_in1k.pth", state


def _detector(checkpoint: Path) -> torch.nn.Module:
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    cfg = Config.fromfile(str(CONFIG))
    cfg.model.backbone.init_cfg.checkpoint = str(checkpoint)
    with DefaultScope.overwrite_default_scope("mmdet"):
        return MODELS.build(cfg.model), cfg


def test_converted_checkpoint_loads_into_the_windowed_backbone(converted: tuple[Path, dict],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from backbones.engine.checkpoint import pretrained

    path, state = converted
    model, _ = _detector(path)
    reports = []
    monkeypatch.setattr(pretrained, "log_load", reports.append)  # the load report, as logged
    model.init_weights()
    own = model.backbone.state_dict()
    src = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
    assert set(src) - set(own) == {"cls_token"}
    for key, value in own.items():
        if key != "pos_embed.pos_embed":
            torch.testing.assert_close(value, src[key], msg=key)
    pos = own["pos_embed.pos_embed"]
    assert tuple(src["pos_embed.pos_embed"].shape) == (1, 197, 192) and tuple(pos.shape) == (1, 100, 192)
    grid = src["pos_embed.pos_embed"][:, 1:].reshape(1, 14, 14, 192).permute(0, 3, 1, 2)
    want = torch.nn.functional.interpolate(grid, size=(10, 10), mode="bicubic", align_corners=False)
    torch.testing.assert_close(pos, want.permute(0, 2, 3, 1).reshape(1, 100, 192))
    (report,) = [r.line() for r in reports]
    assert "resized pos_embed.pos_embed 1x197x192 -> 1x100x192" in report and "unexpected: cls_token" in report
    assert [b.mixer.window_size for b in model.backbone.blocks] == [4, 4, None, 4, 4, None, 4, 4, None, 4, 4, None]


def test_layer_decay_of_the_detector(converted: tuple[Path, dict]) -> None:
    """Neck and head at the base lr, block i at 0.7 ** (12 - i), the patch stem at 0.7 ** 13."""
    from mmengine.optim import build_optim_wrapper

    model, cfg = _detector(converted[0])
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    lr = {id(p): g["lr"] for g in wrapper.optimizer.param_groups for p in g["params"]}
    base = cfg.optim_wrapper.optimizer.lr
    assert lr[id(model.bbox_head.conv_cls.weight)] == pytest.approx(base)
    assert lr[id(model.neck.lateral[0][0].weight)] == pytest.approx(base)
    assert lr[id(model.backbone.blocks[11].mixer.qkv.weight)] == pytest.approx(base * 0.7)
    assert lr[id(model.backbone.blocks[0].mixer.qkv.weight)] == pytest.approx(base * 0.7 ** 12)
    assert lr[id(model.backbone.stem.proj.weight)] == pytest.approx(base * 0.7 ** 13)
