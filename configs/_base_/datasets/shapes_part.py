# The generated ShapeNetPart-layout objects (tools/data/prepare_shapes.py data/shapes): 4 categories (table, lamp,
# mushroom, arrow), 9 parts, 60 train / 20 val / 20 test each; 512 points with normals.
data_root = 'data/shapes/shapenetpart_shapes'
train_pipeline = [
    dict(type='SeedAugmentations'),  # augmentation draws from (seed, epoch, sample): exact resume
    dict(type='LoadPointCloud', columns=(7, ), with_part_labels=True, use_normals=True),
    dict(type='PointSample', num_points=512),
    dict(type='NormalizeToUnitSphere'),
    dict(type='RandomScale', scale=(0.8, 1.25), anisotropic=True),
    dict(type='RandomTranslate', shift=0.1),
    dict(type='RandomJitter', sigma=0.005, clip=0.02),
    dict(type='PackPointInputs', use_normals=True),
]
test_pipeline = [
    dict(type='LoadPointCloud', columns=(7, ), with_part_labels=True, use_normals=True),
    dict(type='PointSample', num_points=512, random=False),
    dict(type='NormalizeToUnitSphere'),
    dict(type='PackPointInputs', use_normals=True),
]
dataset = dict(type='ShapeNetPartDataset', data_root=data_root, category_parts='category_parts.json')
train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='SeedTaggedSampler', shuffle=True),
    dataset=dict(**dataset, split='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=40,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset, split='val', pipeline=test_pipeline, test_mode=True),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='PartSegMIoU')
test_evaluator = val_evaluator
