"""Everything the zoo registers lives in mmengine's root MODELS and is found from every scope."""
from __future__ import annotations

import pytest
import torch
from mmengine.registry import MODELS, DefaultScope

import backbones
import backbones.segmentation  # noqa: F401  (registers EAHead and its ExternalAttention2d unit)
from backbones import MIXERS

OURS = sorted(MIXERS) + ["MixerViT", "PatchStem", "CNNStem", "TokensToTokenStem", "ExternalAttention2d"]
SMALL = dict(type="MixerViT", arch=dict(preset="vit-tiny", depth=2), img_size=32)


def scopes() -> dict:
    import mmpretrain.models  # noqa: F401
    import mmseg.models  # noqa: F401
    from mmpretrain.registry import MODELS as PRETRAIN
    from mmseg.registry import MODELS as SEG

    return {"mmengine": MODELS, "mmpretrain": PRETRAIN, "mmseg": SEG}


@pytest.mark.parametrize("name", OURS)
def test_registered_in_root_with_a_unique_name(name: str) -> None:
    assert MODELS.get(name) is not None and MODELS.get(name).__module__.startswith("backbones")
    for scope, registry in scopes().items():
        if registry is not MODELS:
            assert name not in registry.module_dict, f"{name} is shadowed by {scope}'s own {name}"


@pytest.mark.parametrize("scope", ["mmengine", "mmpretrain", "mmseg"])
def test_build_from_every_scope(scope: str) -> None:
    registry = scopes()[scope]
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(dict(SMALL, mixer=dict(type="ExternalAttention")))
        mixer = registry.build(dict(type="ReAttention", dim=16, num_heads=2))
    assert isinstance(model, backbones.MixerViT) and isinstance(mixer, backbones.ReAttention)
    assert model(torch.randn(1, 3, 32, 32))[-1].shape == (1, 192)


def test_mmseg_encoder_decoder_passes_pretrained(tmp_path) -> None:  # noqa: ANN001
    """mmseg's EncoderDecoder hands ``pretrained=`` to the backbone, which loads it at init_weights()."""
    scopes()
    src = backbones.MixerViT(**{k: v for k, v in SMALL.items() if k != "type"})
    torch.save({"state_dict": src.state_dict()}, tmp_path / "bb.pth")
    from mmengine.config import ConfigDict

    cfg = ConfigDict(
        type="EncoderDecoder",
        pretrained=str(tmp_path / "bb.pth"),
        data_preprocessor=dict(type="SegDataPreProcessor", size=(32, 32)),
        backbone=dict(SMALL, out_indices=(0, 1), out_type="featmap"),
        decode_head=dict(type="FCNHead", in_channels=192, in_index=1, channels=16, num_convs=1, num_classes=3),
    )
    with DefaultScope.overwrite_default_scope("mmseg"):
        from mmseg.registry import MODELS as SEG

        model = SEG.build(cfg)
    model.init_weights()
    torch.testing.assert_close(model.backbone.cls_token, src.cls_token)
    out = model(torch.randn(2, 3, 32, 32), mode="tensor")
    assert out.shape == (2, 3, 2, 2)
