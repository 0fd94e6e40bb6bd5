"""``with_cp`` (activation checkpointing per block): identical outputs, gradients and BatchNorm statistics,
fewer tensors kept for backward, and no checkpointing outside training."""
from __future__ import annotations

import copy

import pytest
import torch

import backbones.pointcloud  # noqa: F401  (registers OffsetAttention and the point modules)
from backbones import MIXERS, MixerViT
from backbones.pointcloud import PointMixerBackbone

ARCH = dict(embed_dims=32, depth=3, num_heads=4, mlp_ratio=2.0, mixer="SelfAttention",
            stem=dict(type="PatchStem", patch_size=8), pos_embed="learned")


def saved_tensor_count(fn) -> tuple[int, object]:  # noqa: ANN001
    """How many tensors autograd keeps for backward while ``fn()`` runs."""
    count = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal count
        count += 1
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return count, out


def run_step(model: torch.nn.Module, x: torch.Tensor, seed: int = 0) -> tuple[list, dict, dict, int]:
    """One training forward/backward from a fixed RNG state: outputs, gradients, buffers, saved tensors."""
    model.train()
    torch.manual_seed(seed)
    n_saved, outs = saved_tensor_count(lambda: model(x))
    outs = list(outs)
    sum((o.float() ** 2).mean() for o in outs).backward()
    grads = {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}
    buffers = {k: b.clone() for k, b in model.named_buffers()}
    return [o.detach() for o in outs], grads, buffers, n_saved


def assert_same_step(plain: torch.nn.Module, cp: torch.nn.Module, x: torch.Tensor) -> None:
    out_a, grad_a, buf_a, saved_a = run_step(plain, x)
    out_b, grad_b, buf_b, saved_b = run_step(cp, x)
    for a, b in zip(out_a, out_b):
        torch.testing.assert_close(b, a, rtol=0, atol=0)
    assert grad_a.keys() == grad_b.keys() and len(grad_a) == sum(1 for p in plain.parameters() if p.requires_grad)
    for k in grad_a:
        torch.testing.assert_close(grad_b[k], grad_a[k], rtol=1e-6, atol=1e-7, msg=f"gradient of {k}")
    for k in buf_a:  # BatchNorm running statistics are updated once per step, as without checkpointing
        torch.testing.assert_close(buf_b[k], buf_a[k], rtol=0, atol=0, msg=f"buffer {k}")
    assert saved_b < saved_a, f"with_cp kept {saved_b} tensors for backward, without {saved_a}"


@pytest.mark.parametrize("mixer", sorted(set(MIXERS) - {"OffsetAttention"}))
def test_mixervit_with_cp_identical_gradients(mixer: str) -> None:
    """Dropout and drop-path on: the recomputed forward draws the same masks."""
    torch.manual_seed(0)
    attn_drop = 0.1 if "attn_drop" in MIXERS[mixer].settings else 0.0  # FF-only has no attention map to drop
    drop = 0.1 if "proj_drop" in MIXERS[mixer].settings else 0.0  # the identity control has no output to drop
    plain = MixerViT(dict(ARCH, mixer=mixer), img_size=32, drop_rate=drop, attn_drop_rate=attn_drop, drop_path_rate=0.2,
                     out_indices=(1, 2), out_type="featmap")
    cp = copy.deepcopy(plain)
    cp.with_cp = True
    assert_same_step(plain, cp, torch.randn(4, 3, 32, 32))


def test_mixervit_with_cp_on_cnn_stem_and_reattention_batchnorm() -> None:
    """DeepViT's CNN stem and Re-attention's BatchNorm over heads: running statistics stay exact."""
    torch.manual_seed(0)
    arch = dict(ARCH, mixer="ReAttention", stem=dict(type="CNNStem", patch_size=8, width=16), scale_adjustment=0.5)
    plain = MixerViT(arch, img_size=32, drop_path_rate=0.1)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.blocks.modules())
    cp = MixerViT(arch, img_size=32, drop_path_rate=0.1, with_cp=True)
    cp.load_state_dict(plain.state_dict())
    assert_same_step(plain, cp, torch.randn(4, 3, 32, 32))


@pytest.mark.parametrize("mixer", ["OffsetAttention", "SelfAttention", "ExternalAttention"])
def test_point_backbone_with_cp_identical_gradients(mixer: str) -> None:
    torch.manual_seed(0)
    kw = dict(in_channels=6, embed_dims=16, num_heads=2, num_points=64, fuse_channels=32, mixer=mixer,
              neighbor_embed=dict(num_points=(32, 16), k=8, channels=(16, 16)), drop_path_rate=0.2)
    plain = PointMixerBackbone(**kw)
    cp = PointMixerBackbone(**kw, with_cp=True)
    cp.load_state_dict(plain.state_dict())
    assert_same_step(plain, cp, torch.randn(2, 64, 6))


def test_with_cp_only_while_training_with_grad(monkeypatch) -> None:  # noqa: ANN001
    """Evaluation and no-grad forwards run the blocks directly (nothing to save memory on)."""
    import backbones.models.block as gc

    calls, real = [], gc.checkpoint
    monkeypatch.setattr(gc, "checkpoint", lambda *a, **k: calls.append(1) or real(*a, **k))
    model = MixerViT(ARCH, img_size=32, with_cp=True)
    x = torch.randn(2, 3, 32, 32)
    model.eval()
    model(x)[-1].sum().backward()
    model.train()
    with torch.no_grad():
        model(x)
    assert calls == []
    model(x)
    assert len(calls) == ARCH["depth"]
