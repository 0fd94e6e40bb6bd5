# Fine-tune a converted official vit-tiny ImageNet checkpoint on digits (or any class-per-folder data) at 64 px.
# Convert first:  python tools/convert_checkpoint.py timm OFFICIAL.pth checkpoints/vit-tiny_in1k.pth
# The classifier head is re-initialised for the new classes; every backbone key must load (MixerViT checks).
# The 14x14 position table of the checkpoint is resized to 4x4 when it is loaded.
_base_ = [
    '../../_base_/datasets/digits_32px.py',
    '../../_base_/schedules/digits_adamw_40e.py',
]
img = 64
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='MixerViT',
        arch='vit-tiny',
        img_size=img,  # the 224 px position table is resized bicubically on load
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/vit-tiny_in1k.pth', prefix='backbone.'),
    ),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes='auto',
        in_channels=192,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1,),
    ),
)
data_preprocessor = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])  # ImageNet statistics
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=img, crop_ratio_range=(0.7, 1.0), aspect_ratio_range=(0.85, 1.15)),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=img, edge='short'),
    dict(type='CenterCrop', crop_size=img),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=1, end=10, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=10, val_interval=2)
