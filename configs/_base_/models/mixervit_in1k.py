# ImageClassifier around the zoo's generic backbone; leaf configs set backbone.arch and head.in_channels.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='MixerViT', arch='deit-small', img_size=224, out_type='cls_token', drop_path_rate=0.1),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=384,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5),
    ),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)
