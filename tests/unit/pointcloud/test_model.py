"""The PCT-style point backbone with every registered mixer: forward / backward of both task models."""
from __future__ import annotations

import pytest
import torch
from mmengine.structures import BaseDataElement

import backbones.pointcloud  # noqa: F401  (registers OffsetAttention and the point modules)
from backbones import MIXERS, build_mixer
from backbones.pointcloud import OffsetAttention, PointCloudModel, PointMixerBackbone

SMALL = dict(type="PointMixerBackbone", in_channels=6, embed_dims=16, num_heads=2, num_points=64, fuse_channels=32)


def cls_model(mixer: str) -> PointCloudModel:
    backbone = dict(SMALL, mixer=mixer, neighbor_embed=dict(num_points=(32, 16), k=8, channels=(16, 16)))
    return PointCloudModel(backbone=backbone, head=dict(type="PointClsHead", num_classes=3, hidden=(16,)))


def seg_model(mixer: str) -> PointCloudModel:
    backbone = dict(SMALL, mixer=mixer, neighbor_embed=None, dim=16)
    return PointCloudModel(backbone=backbone, head=dict(type="PointPartSegHead", num_parts=5, num_categories=2,
                                                        label_channels=8, hidden=(16,)))


def samples(n: int = 64, b: int = 4) -> list[BaseDataElement]:
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(b):
        parts = torch.tensor([0, 1]) if i % 2 == 0 else torch.tensor([2, 3, 4])
        out.append(BaseDataElement(gt_label=torch.tensor(i % 3), category=i % 2, parts=parts, num_points=n,
                                   gt_parts=parts[torch.randint(len(parts), (n,), generator=g)]))
    return out


def assert_all_trained(model: torch.nn.Module) -> None:
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"{name} got no gradient"


@pytest.mark.parametrize("mixer", sorted(MIXERS))
def test_classifier_forward_backward_predict(mixer: str) -> None:
    torch.manual_seed(0)
    model = cls_model(mixer)
    x = torch.randn(4, 64, 6)
    loss = model(x, samples(), mode="loss")["loss"]
    assert torch.isfinite(loss)
    loss.backward()
    assert_all_trained(model)
    model.eval()
    with torch.no_grad():
        out = model(x, samples(), mode="predict")
    assert out[0].pred_score.shape == (3,) and 0 <= int(out[0].pred_label) < 3
    feats = model.backbone(x)
    assert feats[0].shape == (4, 16, 32) and feats[1].shape == (4, 64) and feats[2].shape == (4, 16, 3)


@pytest.mark.parametrize("mixer", sorted(MIXERS))
def test_part_segmenter_forward_backward_predict(mixer: str) -> None:
    torch.manual_seed(0)
    model = seg_model(mixer)
    x = torch.randn(4, 64, 6)
    loss = model(x, samples(), mode="loss")["loss"]
    loss.backward()
    assert_all_trained(model)
    model.eval()
    with torch.no_grad():
        out = model(x, samples(), mode="predict")
    for s in out:  # predictions stay inside the parts of the shape's category
        assert s.pred_parts.shape == (64,) and set(s.pred_parts.tolist()) <= set(s.parts.tolist())


def test_offset_attention_contract_and_double_normalisation() -> None:
    torch.manual_seed(0)
    m = build_mixer("OffsetAttention", dim=32, num_heads=4, num_tokens=10)
    assert isinstance(m, OffsetAttention) and m.qk.out_features == 8 and not m.channel_prenorm
    x = torch.randn(2, 10, 32)
    assert m(x).shape == x.shape
    attn = m.attention_maps(x)[0][:, 0]  # (B, N_query, N_key): L1-normalised over the queries
    torch.testing.assert_close(attn.sum(1), torch.ones(2, 10), rtol=1e-5, atol=1e-5)
    q = m.qk(x)  # shared query / key: softmax over keys of q q^T, then columns divided by their sums
    a = (q @ q.transpose(1, 2)).softmax(-1)
    torch.testing.assert_close(attn, a / (1e-9 + a.sum(1, keepdim=True)))
    x2 = x.clone()
    x2[:, 3] += 1
    m.eval()
    assert (m(x)[:, [0, 5]] - m(x2)[:, [0, 5]]).abs().max() > 1e-6  # mixes tokens


def test_backbone_errors() -> None:
    with pytest.raises(ValueError, match="FeedForwardMixer is built for a fixed number of tokens"):
        PointMixerBackbone(mixer="FeedForwardMixer", neighbor_embed=None, num_points=None)
    ff = PointMixerBackbone(in_channels=3, embed_dims=8, mixer="FeedForwardMixer", neighbor_embed=None, dim=8,
                            num_points=32, fuse_channels=8)
    with pytest.raises(ValueError, match="built for 32 tokens but got 16"):
        ff(torch.randn(1, 16, 3))
    with pytest.raises(ValueError, match=r"expects points \(B, N, 3\)"):
        ff(torch.randn(1, 32, 6))
    with pytest.raises(KeyError, match="unknown token mixer 'Nope'"):
        PointMixerBackbone(mixer="Nope")
    sg = PointMixerBackbone(in_channels=3, embed_dims=8, neighbor_embed=dict(num_points=(64, 32), k=4, channels=(8, 8)))
    with pytest.raises(ValueError, match="cannot sample 64 centres from 40 points"):
        sg(torch.randn(1, 40, 3))
    seg = PointCloudModel(backbone=dict(type="PointMixerBackbone", in_channels=6, embed_dims=8, fuse_channels=8,
                                        neighbor_embed=dict(num_points=(32, 16), k=4, channels=(8, 8))),
                          head=dict(type="PointPartSegHead", num_parts=5, num_categories=2, hidden=(8,)))
    with pytest.raises(ValueError, match="one token per input point: got 16 tokens for 64 points"):
        seg(torch.randn(4, 64, 6), samples(), mode="loss")


def test_preprocessor_stacks_and_rejects_ragged_batches() -> None:
    model = cls_model("SelfAttention")
    s = samples(b=2)
    out = model.data_preprocessor(dict(inputs=[torch.randn(64, 6), torch.randn(64, 6)], data_samples=s))
    assert out["inputs"].shape == (2, 64, 6)
    s[0].points_path, s[1].points_path = "a.txt", "b.txt"
    with pytest.raises(ValueError, match=r"different shapes.*a.txt"):
        model.data_preprocessor(dict(inputs=[torch.randn(64, 6), torch.randn(60, 6)], data_samples=s))


def test_visualization_hook_takes_openmmlab_show_arguments() -> None:
    """mmpretrain's test.py --show-dir sets show=False and wait_time on the visualization hook."""
    from backbones.pointcloud import PointCloudVisualizationHook

    hook = PointCloudVisualizationHook(enable=True, out_dir="vis", show=False, wait_time=2.0)
    assert hook.enable and hook.out_dir == "vis"
    with pytest.raises(ValueError, match="renders to files"):
        PointCloudVisualizationHook(show=True)
