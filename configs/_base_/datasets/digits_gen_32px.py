# scikit-learn's handwritten digits (python tools/data/prepare_digits.py data/digits) as 32x32 grey images in
# memory, labels 0-9, for class-conditional generation. The metric compares one sample per validation image (its
# label, fixed noise) with the validation images in the feature space of a small CNN trained once on train/ and
# cached in data_root (backbones.generation.features).
dataset_type = 'ImageFolderTensors'
data_root = 'data/digits'
train_dataloader = dict(
    batch_size=32,
    num_workers=0,  # decoded once into memory: workers would only copy it
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix='train', size=32, channels=1),
    sampler=dict(type='SeedTaggedInfiniteSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix='val', classes_from='train', size=32,
                 channels=1),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='GenerationMetric', data_root=data_root)
test_dataloader = val_dataloader
test_evaluator = val_evaluator
