"""The deploy conversion computes what the plain model computes, holds no state, and stays inference-only."""
from __future__ import annotations

import copy
import threading
import weakref

import pytest
import torch
import torch.nn as nn

from backbones import MIXERS, MixerViT, build_mixer, convert_to_deploy
from backbones.deploy import DeployModule, ModuleBranch, is_deployed
from backbones.models.block import Block
from backbones.models.mixers.external_attention import ExternalAttentionBranch
from lab.reference import randomize_

ARCH = dict(embed_dims=32, depth=2, num_heads=4, mlp_ratio=2.0, stem=dict(type="PatchStem", patch_size=8))
MIXER_FIRST = {"FeedForwardMixer": False}  # FF-only runs the channel MLP first


def _tiny(mixer: object, scale_adjustment: float = 1.0, seed: int = 0, out_type: str = "raw") -> MixerViT:
    torch.manual_seed(seed)
    name = mixer if isinstance(mixer, str) else mixer["type"]
    arch = dict(ARCH, mixer=mixer, scale_adjustment=scale_adjustment, mixer_first=MIXER_FIRST.get(name, True))
    model = MixerViT(arch=arch, img_size=32, out_type=out_type)
    return randomize_(model, seed).eval()  # random norms, BN statistics and biases: every fold is exercised


def _agree(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        want = model(x)
        got = convert_to_deploy(copy.deepcopy(model))(x)
    return torch.cat([t.flatten() for t in want]), torch.cat([t.flatten() for t in got])


@pytest.mark.parametrize("out_type", ["raw", "cls_token"])  # cls_token: the last block computes that token alone
@pytest.mark.parametrize("scale_adjustment", [1.0, 0.5])
@pytest.mark.parametrize("name", sorted(MIXERS))
def test_converted_equals_plain_for_every_mixer(name: str, scale_adjustment: float, out_type: str) -> None:
    model = _tiny(name, scale_adjustment, out_type=out_type)
    want, got = _agree(model, torch.randn(3, 3, 32, 32))
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_last_block_computes_only_the_class_token_when_that_is_the_output() -> None:
    x = torch.randn(2, 3, 32, 32)
    for out_type, last_rows in (("cls_token", 1), ("raw", 17)):
        model = convert_to_deploy(_tiny("SelfAttention", out_type=out_type))
        rows = []
        model.blocks[-1].register_forward_hook(lambda m, i, o: rows.append(o.shape[1]))  # noqa: B023
        with torch.no_grad():
            model(x)
        assert rows == [last_rows]


@pytest.mark.parametrize("spec", [dict(type="ReAttention", transform_scale=True),
                                  dict(type="ExternalAttention", memory=8),  # S = d: memories folded
                                  dict(type="ExternalAttention", expansion=1, memory=128),  # unfolded memories
                                  dict(type="FeedForwardMixer", token_resize="bilinear")])
@pytest.mark.parametrize("out_type", ["raw", "cls_token"])
def test_converted_equals_plain_for_mixer_options(spec: dict, out_type: str) -> None:
    want, got = _agree(_tiny(spec, out_type=out_type), torch.randn(2, 3, 32, 32))
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_external_attention_folds_only_when_cheaper() -> None:
    """Per token, folding costs h*S*C multiply-adds a side against e*C*(C + S): cheaper when S <= d = C/H."""
    eamlp_like = build_mixer("ExternalAttention", 256, num_heads=4).eval()  # d = S = 64, as in EAMLP
    folded = ExternalAttentionBranch(nn.LayerNorm(256), eamlp_like)
    narrow = build_mixer("ExternalAttention", 32, num_heads=4).eval()  # d = 8 < S = 64
    unfolded = ExternalAttentionBranch(nn.LayerNorm(32), narrow)
    assert folded.folded and not unfolded.folded


def test_conversion_replaces_blocks_and_keeps_unknown_branches() -> None:
    model = convert_to_deploy(_tiny("OffsetAttention"))
    assert is_deployed(model) and not any(isinstance(m, Block) for m in model.modules())
    assert isinstance(model.blocks[0].branches[0], ModuleBranch)  # no fold for offset-attention: plain modules
    assert not any(isinstance(b, ModuleBranch) for b in convert_to_deploy(_tiny("SelfAttention")).blocks[0].branches)
    again = copy.deepcopy(model)
    convert_to_deploy(again)  # idempotent
    assert [type(m) for m in again.modules()] == [type(m) for m in model.modules()]


@pytest.mark.parametrize("out_type", ["raw", "cls_token"])  # cls_token: the last block is converted first
def test_conversion_frees_each_plain_block_before_building_the_next(out_type: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Peak memory of a conversion is the plain model plus one block, not plain plus deploy (ff-large: 783 MB of
    weights): no list of the plain children outlives their replacement."""
    model = MixerViT(arch=dict(ARCH, depth=4, mixer="SelfAttention"), img_size=32, out_type=out_type).eval()
    plain = [weakref.ref(b) for b in model.blocks]
    alive, to_deploy = [], Block.to_deploy

    def counting(self: Block, *args: object, **kwargs: object) -> nn.Module:
        alive.append(sum(ref() is not None for ref in plain))
        return to_deploy(self, *args, **kwargs)

    monkeypatch.setattr(Block, "to_deploy", counting)
    convert_to_deploy(model)
    assert alive == [4, 3, 2, 1]
    assert all(ref() is None for ref in plain)


def test_converted_model_is_inference_only() -> None:
    model = convert_to_deploy(_tiny("SelfAttention"))
    with pytest.raises(RuntimeError, match="inference module made by convert_to_deploy"):
        model.train()
    model.eval()  # allowed


def test_converted_model_keeps_no_state_across_calls_and_threads() -> None:
    """Concurrent calls on one converted model give each caller its own result (nothing shared per call)."""
    model = convert_to_deploy(_tiny("ReAttention"))
    inputs = [torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(i)) for i in range(8)]
    with torch.no_grad():
        want = [model(x)[0] for x in inputs]
        before = {k: v.clone() for k, v in model.state_dict().items()}
    got: dict[int, torch.Tensor] = {}

    def run(i: int) -> None:
        with torch.no_grad():
            for _ in range(3):
                got[i] = model(inputs[i])[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, w in enumerate(want):
        torch.testing.assert_close(got[i], w, rtol=0, atol=0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    internals = set(vars(nn.Module()))
    for m in (m for m in model.modules() if isinstance(m, DeployModule)):  # no caches: tensors only as buffers
        assert set(k for k in vars(m) if k.startswith("_")) <= internals
        assert not [k for k, v in vars(m).items() if not k.startswith("_") and isinstance(v, (torch.Tensor, dict))]


def test_point_backbone_converts() -> None:
    from backbones.pointcloud import PointMixerBackbone

    torch.manual_seed(0)
    for mixer in ("SelfAttention", "ExternalAttention", "OffsetAttention"):
        model = randomize_(PointMixerBackbone(in_channels=3, dim=32, depth=2, mixer=mixer, mlp_ratio=2.0)).eval()
        want, got = _agree(model, torch.randn(2, 64, 3))
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_plain_model_updated_through_data_evaluates_like_a_fresh_one() -> None:
    """mmengine's EMA wrapper and EMAHook write weights through ``.data``: the plain model has no cache that
    could keep serving the old weights."""
    from mmengine.hooks import EMAHook
    from mmengine.model import ExponentialMovingAverage

    x = torch.randn(2, 3, 32, 32)
    src = _tiny("ExternalAttention")
    ema = ExponentialMovingAverage(src, momentum=0.5)
    ema.eval()
    with torch.no_grad():
        ema(x)  # evaluate once before the update
        for p in src.parameters():
            p.add_(0.1 * torch.randn_like(p))
        ema.update_parameters(src)
        got = ema(x)[0]
    fresh = _tiny("ExternalAttention", seed=1)
    fresh.load_state_dict(ema.module.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(got, fresh(x)[0], rtol=0, atol=0)

    class Runner:  # what EMAHook touches
        model = src

    hook = EMAHook(momentum=0.5)
    hook.before_run(Runner)
    with torch.no_grad():
        src(x)
        for p in src.parameters():
            p.add_(0.1 * torch.randn_like(p))
        hook.ema_model.update_parameters(src)
        hook._swap_ema_parameters()  # what before_val_epoch does: EMA weights into the model, through .data
        got = src(x)[0]
    fresh.load_state_dict(hook.ema_model.module.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(got, fresh(x)[0], rtol=0, atol=0)
