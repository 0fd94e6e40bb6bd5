# Digits (or any class-per-folder data) at 64 px with ImageNet statistics, for fine-tuning ImageNet checkpoints.
_base_ = ['./digits_32px.py']
img = 64
data_preprocessor = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
train_pipeline = [
    dict(type='SeedAugmentations'),  # augmentation draws from (seed, epoch, sample): exact resume
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
