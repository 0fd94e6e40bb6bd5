# mmseg's ViT-UPerNet recipe (upernet_vit-b16_ln_mln.py) with the zoo's MixerViT as encoder: the outputs of
# blocks (2, 5, 8, 11) as (B, C, H/16, W/16) maps -> MultiLevelNeck (scales 4, 2, 1, 0.5: strides 4..32)
# -> UPerHead, plus the usual FCN auxiliary head on the last map. Leaf configs choose the preset (arch),
# which fixes the mixer, and set the widths (in_channels) to the preset's embed_dims.
norm_cfg = dict(type='SyncBN', requires_grad=True)  # paper recipe for 8 GPUs; CPU runs: BN
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='MixerViT',
        arch='deit-small',
        img_size=512,
        out_indices=(2, 5, 8, 11),
        out_type='featmap',
        drop_path_rate=0.1),
    neck=dict(type='MultiLevelNeck', in_channels=[384] * 4, out_channels=384, scales=[4, 2, 1, 0.5]),
    decode_head=dict(
        type='UPerHead',
        in_channels=[384] * 4,
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=512,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=384,
        in_index=3,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
