# EANet in miniature on 64x64 digit scenes, from scratch: the first three stages of a dilated ResNet-18 (deep stem,
# widths 16, 32, 64, no strided stage after the stem: output stride 4, dilations 1, 2, 4) -> EAHead (ConvBNReLU
# to 64, EA unit with S = 64, ConvBNReLU to 32, dropout, classifier) + FCN auxiliary head on stage 2;
# 1 process x 8 scenes, 4k iterations.
_base_ = [
    '../../_base_/datasets/digit_scenes_64px.py',
    '../../_base_/segmentation_runtime.py',
    '../../_base_/schedules/digit_scenes_adamw_4k.py',
]
# Classifiers keep PyTorch's default init (see configs/_base_/models/upernet_mixervit_digit_scenes.py).
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(64, 64)),
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=32,
        base_channels=16,
        num_stages=3,
        out_indices=(0, 1, 2),
        strides=(1, 1, 1),
        dilations=(1, 2, 4),
        contract_dilation=True,
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='EAHead',
        in_channels=64,
        in_index=2,
        ea_channels=64,
        memory=64,
        channels=32,
        dropout_ratio=0.1,
        num_classes=11,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        init_cfg=None),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=32,
        in_index=1,
        channels=32,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=11,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4),
        init_cfg=None),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
