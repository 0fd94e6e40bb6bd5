# mmseg's ADE20K data (512x512 crops) with the training augmentations seeded per sample (exact resume):
# the same pipeline as mmseg's, SeedAugmentations first, and the seed-tagged infinite sampler.
_base_ = ['mmseg::_base_/datasets/ade20k.py']
crop_size = (512, 512)
train_pipeline = [
    dict(type='SeedAugmentations'),
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(sampler=dict(type='SeedTaggedInfiniteSampler', shuffle=True),
                        dataset=dict(pipeline=train_pipeline))
