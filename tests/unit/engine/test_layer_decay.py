"""Layer-wise lr decay: ``get_layer_depth`` (mmpretrain's contract) of MixerViT and the point backbone,
mmpretrain's own constructor with MixerViT, and the zoo's constructor as the ADE20K configs use it."""
from __future__ import annotations

import pytest
import torch
from mmengine.registry import DefaultScope

import backbones.pointcloud  # noqa: F401  (registers the point modules)
from backbones import MixerViT
from backbones.pointcloud import PointCloudModel
from tests.support import ROOT, build_classifier, load_cfg

ADE20K = sorted((ROOT / "configs/segmentation/ade20k").glob("upernet_*.py"))
DIGITS = ROOT / "configs/classification/digits/mixervit_selfattention-p4-w96-d4_1xb64-40e_digits-32px.py"


def expected_depth(name: str, blocks: str, num_blocks: int, stem: tuple[str, ...]) -> int:
    """Depth of a parameter named from the model's root, written out independently of get_layer_depth."""
    if not name.startswith("backbone."):
        return num_blocks + 1
    parts = name.split(".")
    if parts[1] in stem:
        return 0
    if parts[1] == blocks:
        return int(parts[2]) + 1
    return num_blocks + 1


def build_optim(model: torch.nn.Module, optim_wrapper: dict, scope: str):  # noqa: ANN201
    from mmengine.optim import build_optim_wrapper

    with DefaultScope.overwrite_default_scope(scope):
        return build_optim_wrapper(model, optim_wrapper)


def test_mixervit_layer_depth_matches_mmpretrain_vit() -> None:
    """Same depth for the same part as mmpretrain's VisionTransformer (stem 0, block i -> i + 1, norm and
    head last)."""
    from mmpretrain.models import VisionTransformer

    ref = VisionTransformer(arch="deit-tiny", img_size=32, patch_size=16, final_norm=True)
    ours = MixerViT("vit-tiny", img_size=32)
    pairs = {"cls_token": "cls_token", "pos_embed.pos_embed": "pos_embed", "stem.proj.weight":
             "patch_embed.projection.weight", "blocks.0.mixer.qkv.weight": "layers.0.attn.qkv.weight",
             "blocks.7.mlp.fc2.bias": "layers.7.ffn.layers.1.bias", "norm.weight": "ln1.weight"}
    own = dict(ours.named_parameters())
    theirs = dict(ref.named_parameters())
    for a, b in pairs.items():
        assert a in own and b in theirs, (a, b)
        assert ours.get_layer_depth("backbone." + a, "backbone.") == ref.get_layer_depth("backbone." + b, "backbone.")
    assert ours.get_layer_depth("head.fc.weight", "backbone.") == ref.get_layer_depth("head.fc.weight", "backbone.")
    for name in own:  # every parameter has a depth in range, blocks in order
        assert ours.get_layer_depth(name) == (expected_depth("backbone." + name, "blocks", 12, ("stem", "cls_token",
                                                                                               "pos_embed")), 14)


def test_point_backbone_layer_depth() -> None:
    model = PointCloudModel(
        backbone=dict(type="PointMixerBackbone", in_channels=6, embed_dims=16, num_heads=2, num_points=64,
                      fuse_channels=32, depth=3, neighbor_embed=dict(num_points=(32, 16), k=8, channels=(16, 16))),
        head=dict(type="PointClsHead", num_classes=3, hidden=(16,)))
    seen = set()
    for name, _ in model.named_parameters():
        depth = model.backbone.get_layer_depth(name, "backbone.")
        assert depth == (expected_depth(name, "layers", 3, ("embed", "stages")), 5), name
        seen.add(depth[0])
    assert seen == {0, 1, 2, 3, 4}


def test_mmpretrain_layer_decay_constructor_with_mixervit() -> None:
    """mmpretrain's LearningRateDecayOptimWrapperConstructor on a shipped classification config."""
    model = build_classifier(load_cfg(DIGITS))
    optim = build_optim(model, dict(optimizer=dict(type="AdamW", lr=1e-3, weight_decay=0.05),
                                    constructor="LearningRateDecayOptimWrapperConstructor",
                                    paramwise_cfg=dict(layer_decay_rate=0.5)), "mmpretrain")
    groups = optim.optimizer.param_groups
    assert len(groups) == sum(1 for _ in model.parameters())
    for g in groups:
        depth = expected_depth(g["param_name"], "blocks", 4, ("stem", "cls_token", "pos_embed"))
        assert g["lr"] == pytest.approx(1e-3 * 0.5 ** (6 - depth - 1)), g["param_name"]


@pytest.mark.parametrize("config", ADE20K, ids=lambda p: p.stem)
def test_ade20k_configs_use_layer_decay(config) -> None:  # noqa: ANN001
    """The shipped fine-tuning recipe: lr * 0.9 ** (L - depth - 1) per parameter, no weight decay on position
    tables, class token, norms and biases."""
    cfg = load_cfg(config)
    assert cfg.optim_wrapper.constructor == "LayerDecayOptimWrapperConstructor"
    model = build_classifier(cfg)  # mmseg's EncoderDecoder around MixerViT (weights not loaded)
    optim = build_optim(model, cfg.optim_wrapper, cfg.default_scope)
    depth = model.backbone.depth
    lr, rate, wd = cfg.optim_wrapper.optimizer.lr, cfg.optim_wrapper.paramwise_cfg.layer_decay_rate, 0.05
    assert (lr, rate) == (3e-5, 0.9) and cfg.optim_wrapper.optimizer.weight_decay == wd
    names = {id(p): n for n, p in model.named_parameters()}
    by_depth: dict[int, float] = {}
    for g in optim.optimizer.param_groups:
        (p,) = g["params"]
        name = names[id(p)]
        d = expected_depth(name, "blocks", depth, ("stem", "cls_token", "pos_embed"))
        assert g["lr"] == pytest.approx(lr * rate ** (depth + 1 - d)), name
        no_decay = p.ndim == 1 or "pos_embed" in name or "cls_token" in name
        assert g["weight_decay"] == (0.0 if no_decay else wd), name
        by_depth[d] = g["lr"]
    assert sorted(by_depth) == list(range(depth + 2))  # every depth present; lr grows towards the head
    assert all(by_depth[d] < by_depth[d + 1] for d in range(depth + 1))


def test_zoo_constructor_on_point_model_and_errors() -> None:
    from mmengine.optim import build_optim_wrapper

    model = PointCloudModel(
        backbone=dict(type="PointMixerBackbone", in_channels=3, embed_dims=16, num_heads=2, dim=16, depth=2,
                      fuse_channels=32),
        head=dict(type="PointClsHead", num_classes=3, hidden=(16,)))
    cfg = dict(optimizer=dict(type="SGD", lr=0.1), constructor="LayerDecayOptimWrapperConstructor",
               paramwise_cfg=dict(layer_decay_rate=0.5))
    groups = build_optim_wrapper(model, cfg).optimizer.param_groups
    lrs = {}
    for g in groups:
        d = expected_depth(g["param_name"], "layers", 2, ("embed", "stages"))
        assert (g["layer_id"], g["lr"]) == (d, pytest.approx(0.1 * 0.5 ** (3 - d))), g["param_name"]
        lrs[g["param_name"]] = g["lr"]
    assert lrs["backbone.embed.0.linear.weight"] == pytest.approx(0.1 / 8)
    assert all(v == pytest.approx(0.1) for k, v in lrs.items() if k.startswith(("head.", "backbone.fuse.")))
    with pytest.raises(ValueError, match="num_layers=12 but the backbone has 2 layers"):
        build_optim_wrapper(model, dict(cfg, paramwise_cfg=dict(layer_decay_rate=0.5, num_layers=12)))
    with pytest.raises(KeyError, match="layer_decay_rate"):
        build_optim_wrapper(model, dict(cfg, paramwise_cfg=dict(flat_decay_mult=0.0)))
    with pytest.raises(ValueError, match=r"layer_decay_rate must be in \(0, 1\]"):
        build_optim_wrapper(model, dict(cfg, paramwise_cfg=dict(layer_decay_rate=1.5)))
    with pytest.raises(NotImplementedError, match="get_layer_depth.*Sequential"):
        build_optim_wrapper(torch.nn.Sequential(torch.nn.Linear(2, 2)), cfg)
