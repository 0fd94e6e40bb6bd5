# Digit scenes: 64x64 scenes of scikit-learn's handwritten digits, background + 10 classes, mmseg layout.
# Build them with: python tools/data/prepare_digit_scenes.py data/digit_scenes
# Another dataset in the img_dir/ + ann_dir/ layout with PNG label maps trains by changing data_root and the
# classes (CheckedSegDataset). CheckSegLabels rejects label maps of another size or with unknown labels.
dataset_type = 'DigitScenesDataset'
data_root = 'data/digit_scenes'
crop_size = (64, 64)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels'),
    dict(type='PackSegInputs'),
]
train_pipeline = [
    dict(type='SeedAugmentations'),  # augmentation draws from (seed, epoch, sample): exact resume
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegLabels'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='SeedTaggedInfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline,
                 data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train')))
val_dataloader = dict(
    batch_size=50,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline,
                 data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val')))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
