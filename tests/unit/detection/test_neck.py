"""ViTDet's simple feature pyramid (Li et al. 2022) and its LayerNorm2d: shapes, strides, registration, and the
backbone's stride-16 map under mmdet's padding data preprocessor."""
from __future__ import annotations

import pytest
import torch

from backbones import MixerViT
from backbones.detection import LayerNorm2d, SimpleFeaturePyramid


def test_layer_norm_2d_equals_layer_norm_over_channels() -> None:
    x = torch.randn(2, 8, 5, 7)
    ln2d, ln = LayerNorm2d(8), torch.nn.LayerNorm(8, eps=1e-6)
    with torch.no_grad():
        for p in (ln2d.weight, ln2d.bias):
            p.normal_()
        ln.weight.copy_(ln2d.weight)
        ln.bias.copy_(ln2d.bias)
    torch.testing.assert_close(ln2d(x), ln(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))
    assert ln2d(x).is_contiguous()  # NCHW memory, as mmcv's CPU ops read it
    with pytest.raises(ValueError, match=r"LayerNorm2d\(8\) expects a \(B, 8, H, W\) map"):
        ln2d(torch.randn(2, 4, 5, 7))


def test_pyramid_shapes_and_strides() -> None:
    """Factors 4, 2, 1, 0.5 of a (B, C, h, w) map, then P6 by max-pooling: strides 4, 8, 16, 32, 64 of a patch-16
    backbone; odd sizes round up as the pooling does."""
    neck = SimpleFeaturePyramid(64, 32, num_outs=5)
    outs = neck((torch.randn(3, 64, 9, 13),))
    assert [tuple(o.shape) for o in outs] == [(3, 32, 36, 52), (3, 32, 18, 26), (3, 32, 9, 13), (3, 32, 4, 6),
                                              (3, 32, 2, 3)]
    sub = SimpleFeaturePyramid(64, 16, scale_factors=(2, 1, 0.5))
    assert [tuple(o.shape) for o in sub(torch.randn(2, 64, 10, 10))] == [(2, 16, 20, 20), (2, 16, 10, 10),
                                                                          (2, 16, 5, 5)]


def test_pyramid_levels_depend_on_their_own_pixels() -> None:
    """The x4 level's pixel block (4i..4i+3) is built from input pixel i alone (2x2 stride-2 deconvolutions), before
    the 3x3 output convolution: check through the rescale branch."""
    neck = SimpleFeaturePyramid(64, 32).eval()
    x = torch.randn(1, 64, 6, 6, requires_grad=True)
    up = neck.rescale[0](x)
    up[0, :, 8:12, 12:16].sum().backward()
    touched = x.grad.abs().sum(dim=(0, 1)).nonzero().tolist()
    assert touched == [[2, 3]]


def test_pyramid_maps_are_contiguous_for_mmcv_roi_align() -> None:
    """mmcv's CPU RoIAlign reads its input's memory as NCHW whatever the strides: on LayerNorm2d's channels-last
    view it pools scrambled features (the cause of a Mask R-CNN whose second stage could not learn). The pyramid's
    maps are contiguous, and RoIAlign on them equals torchvision's on the same values."""
    from mmcv.ops import RoIAlign
    from torchvision.ops import roi_align

    neck = SimpleFeaturePyramid(64, 16, scale_factors=(2, 1, 0.5), num_outs=4)
    outs = neck(torch.randn(2, 64, 10, 10))
    assert all(o.is_contiguous() for o in outs)
    rois = torch.tensor([[0, 10.0, 12.0, 70.0, 90.0], [1, 33.0, 20.0, 120.0, 101.0], [1, 0.0, 0.0, 159.0, 159.0]])
    view = outs[0].permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)  # same values, channels-last memory
    ours = RoIAlign(7, 1 / 8, sampling_ratio=2, aligned=True)
    want = roi_align(outs[0], rois, 7, spatial_scale=1 / 8, sampling_ratio=2, aligned=True)
    torch.testing.assert_close(ours(outs[0], rois), want)
    assert not torch.allclose(ours(view, rois), want), "mmcv's CPU RoIAlign now honours strides: the copy can go"


@pytest.mark.parametrize("bad", [dict(scale_factors=(1, 2)), dict(scale_factors=(3,)), dict(num_outs=2),
                                 dict(in_channels=66)])
def test_pyramid_refuses_bad_settings(bad: dict) -> None:
    kwargs = {"in_channels": 64, "out_channels": 32, **bad}
    with pytest.raises(ValueError, match="SimpleFeaturePyramid"):
        SimpleFeaturePyramid(**kwargs)


def test_registered_for_mmdet_configs() -> None:
    """mmdet's registry (scope mmdet) finds both modules in mmengine's root registry."""
    import mmdet.models  # noqa: F401
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope("mmdet"):
        neck = MODELS.build(dict(type="SimpleFeaturePyramid", in_channels=32, out_channels=16))
        norm = MODELS.build(dict(type="LayerNorm2d", num_channels=16))
    assert isinstance(neck, SimpleFeaturePyramid) and isinstance(norm, LayerNorm2d)


def test_backbone_stride_16_map_under_mmdet_padding() -> None:
    """MixerViT(out_type='featmap', with_cls_token=False) gives (B, C, H/16, W/16); mmdet's DetDataPreprocessor pads
    a batch of odd sizes to multiples of its size divisor first, so no image border is dropped by the patch stem."""
    from mmdet.models.data_preprocessors import DetDataPreprocessor
    from mmdet.structures import DetDataSample

    vit = MixerViT(dict(embed_dims=32, depth=2, num_heads=2, stem=dict(type="PatchStem", patch_size=16)),
                   mixer="SelfAttention", img_size=160, out_type="featmap", with_cls_token=False)
    pre = DetDataPreprocessor(pad_size_divisor=32)
    images = [torch.randint(0, 255, (3, 100, 130), dtype=torch.uint8),
              torch.randint(0, 255, (3, 150, 90), dtype=torch.uint8)]
    batch = pre(dict(inputs=images, data_samples=[DetDataSample(), DetDataSample()]), training=False)
    assert tuple(batch["inputs"].shape) == (2, 3, 160, 160)
    (feat,) = vit(batch["inputs"])
    assert tuple(feat.shape) == (2, 32, 10, 10)
    assert tuple(vit(torch.randn(2, 3, 64, 96))[0].shape) == (2, 32, 4, 6)
