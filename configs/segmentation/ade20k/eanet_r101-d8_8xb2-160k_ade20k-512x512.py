# EANet (dilated ResNet-101 + EAHead + FCN auxiliary head) on ADE20K with mmseg's ResNet recipe: 512x512 crops,
# 8 GPUs x 2 images, 160k iterations, SGD 0.01 poly 0.9, momentum 0.9, weight decay 5e-4.
_base_ = [
    '../../_base_/models/eanet_r101-d8.py',
    '../../_base_/datasets/ade20k_512x512.py',
    '../../_base_/segmentation_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150))
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
# crash-safe checkpoints, each training step's randomness from (seed, iteration, rank) (backbones.engine.runner)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'), step_seed=dict(type='StepSeedHook'))
