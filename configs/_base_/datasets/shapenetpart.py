# ShapeNetPart in the shapenetcore_partanno_segmentation_benchmark_v0_normal layout (16 categories, 50 parts);
# 1024 points, batch 32, random anisotropic scale and translation; trained on train + val, tested on test.
data_root = 'data/shapenetcore_partanno_segmentation_benchmark_v0_normal'
train_pipeline = [
    dict(type='SeedAugmentations'),  # augmentation draws from (seed, epoch, sample): exact resume
    dict(type='LoadPointCloud', columns=(7, ), with_part_labels=True, use_normals=False),
    dict(type='PointSample', num_points=1024),
    dict(type='NormalizeToUnitSphere'),
    dict(type='RandomScale', scale=(2 / 3, 3 / 2), anisotropic=True),
    dict(type='RandomTranslate', shift=0.2),
    dict(type='PackPointInputs'),
]
test_pipeline = [
    dict(type='LoadPointCloud', columns=(7, ), with_part_labels=True, use_normals=False),
    dict(type='PointSample', num_points=1024, random=False),
    dict(type='NormalizeToUnitSphere'),
    dict(type='PackPointInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='SeedTaggedSampler', shuffle=True),
    dataset=dict(type='ShapeNetPartDataset', data_root=data_root, split='trainval', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ShapeNetPartDataset', data_root=data_root, split='test', pipeline=test_pipeline,
                 test_mode=True),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='PartSegMIoU')
test_evaluator = val_evaluator
