# External attention (EAMLP, Guo et al. 2021; official args.yaml): batch 8 x 64, AdamW lr 1e-3, weight decay 0.03,
# drop-path 0.1, 5 warm-up epochs from 1e-6, cosine to 1e-5, 300 + 10 cool-down epochs, EMA 0.99996.
_base_ = [
    '../../_base_/models/mixervit_in1k.py',
    '../../_base_/datasets/imagenet_deit_224.py',
    '../../_base_/schedules/imagenet_adamw_300e.py',
    '../../_base_/default_runtime.py',
]
model = dict(backbone=dict(arch='eamlp-24', drop_path_rate=0.1), head=dict(in_channels=512))
train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = dict(batch_size=64)
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.03))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=5, end=300),
    dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=300, end=310),
]
train_cfg = dict(max_epochs=310)
auto_scale_lr = dict(base_batch_size=512)
custom_hooks = [dict(type='EMAHook', momentum=4e-5, priority='ABOVE_NORMAL')]
