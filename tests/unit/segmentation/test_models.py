"""Every mixer as an mmseg encoder and EANet's EAHead: forward/backward in an ``EncoderDecoder`` on a small
input; FF-only's fixed token count; the segmentation configs' shared structure."""
from __future__ import annotations

import copy

import pytest
import torch

from backbones import MIXERS
from tests.support import ROOT, build_classifier, load_cfg

DIGIT_SCENES = ROOT / "configs/segmentation/digit_scenes"
SA_CFG = DIGIT_SCENES / "upernet_selfattention-cnn-p4-w64-d4_1xb8-4k_digit-scenes-64px.py"
EA_HEAD_CFG = next(DIGIT_SCENES.glob("eanet_*.py"))
PAPER_MIXERS = {"SelfAttention", "FeedForwardMixer", "ReAttention", "ExternalAttention"}


def seg_batch(n: int = 2, size: int = 64, classes: int = 11) -> dict:
    """A data batch as mmseg's dataloader gives it: uint8 images and SegDataSamples with label maps."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    gen = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, size, size), generator=gen, dtype=torch.uint8))
        s = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, classes, (1, size, size), generator=gen))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def train_step_grads(model: torch.nn.Module, batch: dict) -> tuple[dict, list[str]]:
    """One forward/backward in train mode; returns the losses and the trainable parameters without a gradient."""
    model.train()
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    losses = model(**data, mode="loss")
    total = sum(v for k, v in losses.items() if "loss" in k)
    total.backward()
    return losses, [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]


@pytest.mark.parametrize("mixer", sorted(MIXERS))
def test_every_mixer_is_an_mmseg_encoder(mixer: str) -> None:
    """MixerViT + MultiLevelNeck + UPerHead: multi-level maps, loss, gradients for every parameter, logits."""
    cfg = load_cfg(SA_CFG)
    cfg.model.backbone.mixer = mixer
    model = build_classifier(cfg)
    feats = model.backbone(torch.randn(2, 3, 64, 64))
    assert [tuple(f.shape) for f in feats] == [(2, 64, 16, 16)] * 4
    assert [tuple(f.shape[-2:]) for f in model.neck(feats)] == [(32, 32), (16, 16), (8, 8), (4, 4)]
    losses, no_grad = train_step_grads(model, seg_batch())
    assert torch.isfinite(losses["decode.loss_ce"]) and not no_grad, no_grad
    model.eval()
    with torch.no_grad():
        out = model.test_step(seg_batch())
    assert out[0].seg_logits.data.shape == (11, 64, 64) and out[0].pred_sem_seg.data.shape == (1, 64, 64)


def test_ea_head_on_a_small_backbone_trains() -> None:
    """EAHead (+ FCN auxiliary head) on the small dilated ResNet of the digit-scenes config."""
    model = build_classifier(load_cfg(EA_HEAD_CFG))
    losses, no_grad = train_step_grads(model, seg_batch())
    assert {"decode.loss_ce", "aux.loss_ce"} <= set(losses) and not no_grad, no_grad


def test_ea_head_shapes_and_ea_unit() -> None:
    """EAHead: (B, C_in, h, w) -> (B, classes, h, w); its EA unit is the zoo's ExternalAttention2d."""
    from mmengine.registry import MODELS

    from backbones.segmentation import EAHead
    from backbones.segmentation.ea_head import ExternalAttention2d

    head = MODELS.build(dict(type="EAHead", in_channels=32, channels=16, ea_channels=24, memory=8, num_classes=5,
                             norm_cfg=dict(type="BN")))
    assert isinstance(head, EAHead) and isinstance(head.ea, ExternalAttention2d)
    assert head.ea.linear_0.out_channels == 8
    assert torch.equal(head.ea.linear_1.weight, head.ea.linear_0.weight.permute(1, 0, 2))  # official init
    assert head((torch.randn(2, 32, 7, 9),)).shape == (2, 5, 7, 9)


def test_ff_only_rejects_another_token_count_and_slides_at_the_training_crop() -> None:
    """FF-only's token MLPs fix the grid: another size fails naming both token counts; the config's slide
    inference (windows of the training crop, small images padded) takes any size."""
    cfg = load_cfg(DIGIT_SCENES / "upernet_feedforward-cnn-p4-w64-d4_1xb8-4k_digit-scenes-64px.py")
    model = build_classifier(cfg).eval()
    with torch.no_grad(), pytest.raises(ValueError, match=r"built for 257 tokens but got 145.*img_size"):
        model.backbone(torch.randn(1, 3, 48, 48))
    batch = seg_batch(1, size=48)
    with torch.no_grad():
        out = model.test_step(batch)  # padded to 64x64, predicted, cropped back
        assert out[0].pred_sem_seg.data.shape == (1, 48, 48)
        big = model.test_step(seg_batch(1, size=100))
        assert big[0].pred_sem_seg.data.shape == (1, 100, 100)


def test_ade20k_configs_follow_mmseg_vit_upernet() -> None:
    """The ADE20K mixer configs: blocks (2, 5, 8, 11), MultiLevelNeck (4, 2, 1, 0.5), UPerHead, 150 classes,
    160k iterations of 8 x 2 crops of 512; EANet: output stride 8 and the paper's VOC schedule."""
    ade = sorted((ROOT / "configs/segmentation/ade20k").glob("upernet_*.py"))
    mixers = set()
    for path in ade:
        cfg = load_cfg(path)
        b = cfg.model.backbone
        assert b.out_indices == (2, 5, 8, 11) and b.out_type == "featmap"
        assert cfg.model.neck.scales == [4, 2, 1, 0.5] and cfg.model.decode_head.type == "UPerHead"
        assert cfg.model.decode_head.num_classes == 150 and cfg.train_cfg.max_iters == 160000
        assert cfg.train_dataloader.batch_size == 2 and cfg.crop_size == (512, 512)
        from backbones.models.vit import resolve_arch

        mixers.add(resolve_arch(b.arch)["mixer"]["type"])
    assert mixers == PAPER_MIXERS
    voc = load_cfg(ROOT / "configs/segmentation/voc12aug/eanet_r101-d8_4xb4-45k_voc12aug-513x513.py")
    assert voc.crop_size == (513, 513) and voc.train_cfg.max_iters == 45000 and voc.train_dataloader.batch_size == 4
    opt = voc.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ("SGD", 0.009, 0.9, 0.0001)
    assert voc.param_scheduler[0].power == 0.9 and voc.param_scheduler[0].end == 45000
