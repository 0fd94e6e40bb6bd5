"""Reduced precision of the deploy form (backbones.deploy.precision): bf16 and int8 against float32, what each
converts (every Linear of the deploy form int8, counted), and the tools' --precision flags."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn

from backbones import MIXERS, MixerViT, convert_to_deploy
from backbones.deploy import PRECISIONS, apply_precision, precision_summary
from lab.reference import randomize_
from tests.support import ROOT

ARCH = dict(embed_dims=32, depth=2, num_heads=4, mlp_ratio=2.0, stem=dict(type="PatchStem", patch_size=8))
#: relative error (norm of the difference / norm of float32's output) each precision stays under on these random
#: models; measured: bf16 0.63%, int8 1.5% at most (every mixer, both read-outs, input seed 1)
TOLERANCE = {"fp32": 1e-5, "bf16": 0.02, "int8": 0.08}
#: float weights the int8 form keeps outside Linears, by the end of their name: Re-attention's head mixing, the stem's
#: conv, position embedding and class token
FLOAT_MATRICES = ("mix_w", "proj.weight", "pos_embed", "cls_token")
#: products the float32 deploy form reads as matrices and the int8 form runs as Linears: FF-only's token MLP, EA's
#: composed memories
MATRIX_PRODUCTS = (".w1", ".w2", ".in_w", ".out_w")


def _tiny(mixer: str | dict, out_type: str = "raw") -> MixerViT:
    torch.manual_seed(0)
    name = mixer if isinstance(mixer, str) else mixer["type"]
    arch = dict(ARCH, mixer=mixer, mixer_first=name != "FeedForwardMixer")
    return randomize_(MixerViT(arch=arch, img_size=32, out_type=out_type), 0).eval()


def _relative_error(model: nn.Module, precision: str, x: torch.Tensor) -> tuple[float, nn.Module, torch.Tensor]:
    with torch.no_grad():
        want = torch.cat([t.flatten() for t in model(x)])
        deployed = convert_to_deploy(copy.deepcopy(model), precision)
        out = deployed(x)
    got = torch.cat([t.flatten() for t in out])
    assert got.dtype == torch.float32  # bf16 regions hand float32 back
    return ((got - want).norm() / want.norm()).item(), deployed, got


@pytest.mark.parametrize("out_type", ["raw", "cls_token"])
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("mixer", sorted(MIXERS) + [dict(type="ExternalAttention", memory=8)])  # + folded memories
def test_each_precision_stays_close_to_float32(mixer: str | dict, precision: str, out_type: str) -> None:
    err, deployed, _ = _relative_error(_tiny(mixer, out_type), precision, torch.randn(3, 3, 32, 32))
    assert err < TOLERANCE[precision], err
    summary = precision_summary(deployed)
    if precision == "int8":  # every Linear of the deploy form is int8; what stays float is known
        assert summary["float_linears"] == 0 and summary["int8_linears"] > 0
        plain = precision_summary(convert_to_deploy(_tiny(mixer, out_type)))
        products = [name for name in plain["float_matrices"] if name.endswith(MATRIX_PRODUCTS)]
        assert summary["int8_linears"] == plain["float_linears"] + len(products)  # every product, counted
        assert all(name.endswith(FLOAT_MATRICES) for name in summary["float_matrices"]), summary["float_matrices"]
    if precision == "bf16":
        assert summary["bf16_modules"] == [""]  # the backbone is the region
        assert all(t.dtype == torch.bfloat16 for t in deployed.state_dict().values() if t.is_floating_point())
    if precision == "fp32":
        assert summary["int8_linears"] == 0 and not summary["bf16_modules"]


def test_int8_quantizes_every_channel_linear_of_self_attention_and_mlp() -> None:
    """A ViT block's four Linears (qkv, proj, fc1, fc2) per block, plus none left: weights int8 per channel."""
    deployed = convert_to_deploy(_tiny("SelfAttention"), "int8")
    summary = precision_summary(deployed)
    assert summary["int8_linears"] == 4 * ARCH["depth"] and summary["float_linears"] == 0
    qkv = deployed.blocks[0].branches[0].qkv
    assert qkv.weight().qscheme() == torch.per_channel_affine and qkv.weight().dtype == torch.qint8


class _Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone, self.head = _tiny("SelfAttention", "cls_token"), nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x)[-1])


def test_heads_outside_the_backbone_keep_float32_in_bf16() -> None:
    model = _Classifier()
    with torch.no_grad():
        want = model(torch.ones(2, 3, 32, 32))
        got = convert_to_deploy(model, "bf16")(torch.ones(2, 3, 32, 32))
    assert precision_summary(model)["bf16_modules"] == ["backbone"]
    assert model.head.weight.dtype == torch.float32 and got.dtype == torch.float32
    assert ((got - want).norm() / want.norm()).item() < TOLERANCE["bf16"]


def test_bad_precision_and_nothing_to_cast_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"precision 'fp16': expected one of \['fp32', 'bf16', 'int8'\]"):
        convert_to_deploy(_tiny("SelfAttention"), "fp16")
    with pytest.raises(ValueError, match="holds no deploy form of the zoo"):
        apply_precision(nn.Sequential(nn.Linear(4, 4)), "bf16")


@pytest.mark.parametrize("mixer", sorted(MIXERS) + [dict(type="ExternalAttention", memory=8)])
def test_calibrated_int8_quantizes_every_linear_with_static_scales(mixer: str | dict) -> None:
    """int8 with ``calibrate``: every Linear static int8 (calibrated activation scales), close to float32."""
    model, x = _tiny(mixer, "raw"), torch.randn(3, 3, 32, 32)
    calls = []
    with torch.no_grad():
        want = torch.cat([t.flatten() for t in model(x)])
        deployed = convert_to_deploy(copy.deepcopy(model), "int8", calibrate=lambda m: calls.append(m(x)))
        got = torch.cat([t.flatten() for t in deployed(x)])
    summary, plain = precision_summary(deployed), precision_summary(convert_to_deploy(model))
    products = [name for name in plain["float_matrices"] if name.endswith(MATRIX_PRODUCTS)]
    assert len(calls) == 1 and summary["float_linears"] == 0
    assert summary["int8_linears"] == summary["int8_calibrated"] == plain["float_linears"] + len(products) > 0
    assert ((got - want).norm() / want.norm()).item() < TOLERANCE["int8"]


def test_calibration_belongs_to_int8_and_the_hook_checks_its_arguments() -> None:
    from backbones.deploy.hook import DeployHook

    with pytest.raises(ValueError, match="calibration sets int8 activation scales"):
        convert_to_deploy(_tiny("SelfAttention"), "bf16", calibrate=lambda m: None)
    with pytest.raises(ValueError, match="precision is 'fp32', expected 'int8'"):
        DeployHook(calibrate=4)
    with pytest.raises(ValueError, match="calibrate=-1: expected a number of batches >= 0"):
        DeployHook(precision="int8", calibrate=-1)
    with pytest.raises(ValueError, match="calibrate_from='test': expected 'train' or 'val'"):
        DeployHook(precision="int8", calibrate=4, calibrate_from="test")


@pytest.mark.parametrize("mixer, per_block", [("FeedForwardMixer", "w1 w2"),
                                               (dict(type="ExternalAttention", memory=8), "in_w out_w")])
def test_int8_runs_token_mlp_and_composed_memories_as_linears(mixer: str | dict, per_block: str) -> None:
    """The float32 forms read these products as matrices (a GEMM over N; EA's transposed map); int8 asks the branch
    for them as Linear modules (for_precision): two more int8 Linears per block, the matrices gone."""
    fp32 = precision_summary(convert_to_deploy(_tiny(mixer)))
    int8 = precision_summary(convert_to_deploy(_tiny(mixer), "int8"))
    names = per_block.split()
    assert sum(n.endswith(tuple("." + w for w in names)) for n in fp32["float_matrices"]) == 2 * ARCH["depth"]
    assert not any(n.endswith(tuple("." + w for w in names)) for n in int8["float_matrices"])
    assert int8["int8_linears"] == fp32["float_linears"] + 2 * ARCH["depth"]


def test_converting_twice_changes_nothing() -> None:
    x = torch.randn(2, 3, 32, 32)
    for precision in ("bf16", "int8"):
        once = convert_to_deploy(_tiny("SelfAttention"), precision)
        with torch.no_grad():
            a = once(x)[-1]
            b = convert_to_deploy(once, precision)(x)[-1]
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("config, shape", [
    ("pointcloud/shapes/pct_selfattention-w64_1xb32-10e_shapes-cls-512pts.py", (2, 512, 6)),
    ("segmentation/digit_scenes/upernet_externalattention-cnn-p4-w64-d4_1xb8-3k_digit-scenes-64px.py",
     (2, 3, 64, 64))])
def test_point_and_segmentation_models_convert_in_every_precision(config: str, shape: tuple[int, ...]) -> None:
    from mmengine.config import Config

    import backbones  # noqa: F401
    from backbones.engine.runner.config import build_model

    model = build_model(Config.fromfile(str(ROOT / "configs" / config))).eval()
    torch.manual_seed(0)
    x = torch.randn(*shape)
    with torch.no_grad():
        want = model(x, mode="tensor")
        for precision in ("bf16", "int8"):
            converted = convert_to_deploy(copy.deepcopy(model), precision)
            got = converted(x, mode="tensor")
            assert got.dtype == torch.float32 and got.shape == want.shape
            assert ((got - want).norm() / want.norm()).item() < TOLERANCE[precision], precision
            summary = precision_summary(converted)
            if precision == "int8":
                assert summary["float_linears"] == 0
            else:  # the ViT backbone as a whole; the point backbone's blocks (its coordinates' ops stay float32)
                assert summary["bf16_modules"] == (["backbone"] if "segmentation" in config else
                                                   [f"backbone.layers.{i}" for i in range(4)])


def test_deploy_options_are_validated_once_for_every_caller() -> None:
    """One options object (backbones.deploy.options.DeployOptions) checks what the test tool, the export tool and
    DeployHook are asked for, with the same words."""
    from backbones.deploy.hook import DeployHook
    from backbones.deploy.options import DeployOptions

    assert DeployOptions("int8", 4, "val").as_dict() == dict(precision="int8", calibrate=4, calibrate_from="val",
                                                             compile=False, autotune=False)
    for bad, words in ((dict(precision="int4"), "precision='int4': expected one of"),
                       (dict(precision="bf16", calibrate=2), "calibrate=2 calibrates int8 activations"),
                       (dict(precision="int8", calibrate=True), "calibrate=True: expected a number of batches"),
                       (dict(autotune=True), "autotune=True tunes the compilation: it needs compile=True")):
        with pytest.raises(ValueError, match=words):
            DeployOptions(**bad)
        with pytest.raises(ValueError, match=f"DeployHook: {words}"):
            DeployHook(**bad)
