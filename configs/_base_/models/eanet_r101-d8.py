# EANet (Guo et al. 2021): dilated ResNet-101 (output stride 8) -> EAHead, plus mmseg's usual FCN auxiliary head.
# Backbone as the official code builds it: ResNetV1c deep stem with 128 channels, layer3 dilations (1, 2, 2, ...),
# layer4 dilations (2, 8, 16). mmseg's ResLayer uses multi_grid values as the dilations themselves, so
# multi_grid=(2, 8, 16) gives exactly those (tests/e2e/test_eanet_parity.py checks every block and the logits).
norm_cfg = dict(type='SyncBN', requires_grad=True)  # paper recipe (synchronised BN over GPUs); CPU runs: BN
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
    # EANet starts from an ImageNet ResNet-101 with a 128-channel deep stem; point
    # backbone.init_cfg=dict(type='Pretrained', checkpoint=...) at such weights in mmseg's key layout.
    backbone=dict(
        type='ResNetV1c',
        depth=101,
        stem_channels=128,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        multi_grid=(2, 8, 16),
        contract_dilation=True,
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch'),
    decode_head=dict(
        type='EAHead',
        in_channels=2048,
        in_index=3,
        ea_channels=512,
        memory=64,
        channels=256,
        dropout_ratio=0.1,
        num_classes=21,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=1024,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=21,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
