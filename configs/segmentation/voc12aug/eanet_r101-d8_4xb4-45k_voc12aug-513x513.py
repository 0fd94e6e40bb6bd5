# EANet on PASCAL VOC 2012 + SBD aug, the paper's setting: 513x513 crops, batch 16 (4 GPUs x 4 images),
# 45k iterations, SGD lr 9e-3 with poly 0.9 decay, momentum 0.9, weight decay 1e-4. The paper reports
# multi-scale + flip testing: mmseg's tta_model / tta_pipeline of the base dataset config (mmseg's
# tools/test.py --tta); the shared tools/test.py evaluates single-scale.
_base_ = [
    '../../_base_/models/eanet_r101-d8.py',
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    '../../_base_/segmentation_runtime.py',
    '../../_base_/schedules/eanet_sgd_45k.py',
]
crop_size = (513, 513)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)

dataset_type = 'PascalVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
train_pipeline = [
    dict(type='SeedAugmentations'),
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='SeedTaggedInfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(type=dataset_type, data_root=data_root, ann_file='ImageSets/Segmentation/train.txt',
                 data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
                 pipeline=train_pipeline),
            dict(type=dataset_type, data_root=data_root, ann_file='ImageSets/Segmentation/aug.txt',
                 data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
                 pipeline=train_pipeline),
        ]))
