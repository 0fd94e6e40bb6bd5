# A small plain-ViT FCOS for digit detection (ViTDet-style, Li et al. 2022): DeepViT's convolutional stem (7x7/2
# and 3x3 convs, width 16, then an 8x8/8 projection: stride-16 tokens), width 128, 4 blocks, the last block's
# (B, 128, H/16, W/16) map -> SimpleFeaturePyramid (64 channels; factors 2, 1, 0.5: strides 8, 16, 32) -> FCOS head
# (1 stacked GN conv of 64 per branch: the convolutions dominate a CPU step). Leaf configs choose the mixer with one
# key: model.backbone.mixer.
_base_ = ['./mixervit_simple-fpn_digit_detection.py']

model = dict(
    type='FCOS',
    bbox_head=dict(
        type='FCOSHead',
        num_classes=10,
        in_channels=64,
        stacked_convs=1,
        feat_channels=64,
        strides=[8, 16, 32],
        regress_ranges=((-1, 16), (16, 32), (32, 1e8)),
        center_sampling=True,
        center_sample_radius=1.5,
        norm_on_bbox=True,
        centerness_on_reg=True,
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                  max_per_img=100))
