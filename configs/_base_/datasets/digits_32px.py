# scikit-learn's handwritten digits as an mmpretrain CustomDataset (class-per-folder), 32x32 RGB.
# Build it with: python tools/data/prepare_digits.py data/digits
# Any folder of images with one sub-folder per class (train/ and val/ inside data_root) trains by changing
# data_root and the class count (model.head.num_classes and data_preprocessor.num_classes). With the zoo's own
# tools/train.py and tools/test.py, num_classes='auto' in both places counts the class folders instead; the
# shipped configs are complete without it, so mmpretrain's tools and APIs run them as they are. Every split takes
# its classes from the train/ sub-folders (classes_from='train'): a val class folder outside them is an error.
dataset_type = 'ImageFolderDataset'
data_root = 'data/digits'
data_preprocessor = dict(num_classes=10, mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5], to_rgb=True)

train_pipeline = [
    dict(type='SeedAugmentations'),  # augmentation draws from (seed, epoch, sample): exact resume
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.7, 1.0), aspect_ratio_range=(0.85, 1.15)),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=32, edge='short'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix='train', classes_from='train',
                 pipeline=train_pipeline),
    sampler=dict(type='SeedTaggedSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix='val', classes_from='train',
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1,))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
