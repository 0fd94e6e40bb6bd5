# The generated ModelNet-layout shapes (tools/data/prepare_shapes.py data/shapes): 10 classes, 60 train / 20 test
# per class, randomly rotated and scaled; 512 points with normals; the test split is the validation set.
data_root = 'data/shapes/modelnet_shapes'
train_pipeline = [
    dict(type='SeedAugmentations'),  # augmentation draws from (seed, epoch, sample): exact resume
    dict(type='LoadPointCloud', columns=(6, ), use_normals=True),
    dict(type='PointSample', num_points=512),
    dict(type='NormalizeToUnitSphere'),
    dict(type='RandomScale', scale=(0.8, 1.25), anisotropic=True),
    dict(type='RandomTranslate', shift=0.1),
    dict(type='RandomJitter', sigma=0.005, clip=0.02),
    dict(type='PackPointInputs', use_normals=True),
]
test_pipeline = [
    dict(type='LoadPointCloud', columns=(6, ), use_normals=True),
    dict(type='PointSample', num_points=512, random=False),
    dict(type='NormalizeToUnitSphere'),
    dict(type='PackPointInputs', use_normals=True),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='SeedTaggedSampler', shuffle=True),
    dataset=dict(type='ModelNetDataset', data_root=data_root, split='train', list_prefix='shapes',
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=50,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ModelNetDataset', data_root=data_root, split='test', list_prefix='shapes',
                 pipeline=test_pipeline, test_mode=True),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='PointAccuracy')
test_evaluator = val_evaluator
