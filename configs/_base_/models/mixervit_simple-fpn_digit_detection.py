# The plain-ViT backbone and feature pyramid of the digit-detection models (ViTDet-style, Li et al. 2022): DeepViT's
# convolutional stem (7x7/2 and 3x3 convs, width 16, then an 8x8/8 projection: stride-16 tokens), width 128, 4
# blocks, the last block's (B, 128, H/16, W/16) map -> SimpleFeaturePyramid (64 channels; factors 2, 1, 0.5: strides
# 8, 16, 32). The detector configs (fcos_*, mask-rcnn_*) add their type and heads.
model = dict(
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='MixerViT',
        arch=dict(embed_dims=128, depth=4, num_heads=4, mlp_ratio=2.0,
                  stem=dict(type='CNNStem', patch_size=16, width=16), pos_embed='learned'),
        mixer='SelfAttention',
        img_size=160,
        with_cls_token=False,
        out_indices=(3, ),
        out_type='featmap',
        drop_path_rate=0.05),
    neck=dict(type='SimpleFeaturePyramid', in_channels=128, out_channels=64, scale_factors=(2.0, 1.0, 0.5)))
