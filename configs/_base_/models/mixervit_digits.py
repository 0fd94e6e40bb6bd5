# A small MixerViT for 32x32 inputs: patch 4 (8x8 = 64 tokens + class token), width 96, 4 blocks.
# Leaf configs choose the mixer with one key: model.backbone.mixer.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='MixerViT',
        arch=dict(embed_dims=96, depth=4, num_heads=4, mlp_ratio=2.0, stem=dict(type='PatchStem', patch_size=4),
                  pos_embed='learned'),
        mixer='SelfAttention',
        img_size=32,
        drop_path_rate=0.05,
    ),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=96,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1,),
    ),
)
