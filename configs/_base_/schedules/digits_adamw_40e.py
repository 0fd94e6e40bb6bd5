# From scratch on digits: AdamW 2e-3, weight decay 0.05, 2 warm-up epochs, cosine over 40 epochs.
_base_ = ['../default_runtime.py']  # the digits schedule also sets the runtime's hooks and seed
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, end=2, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=2, end=40, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=40, val_interval=5)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='AtomicCheckpointHook', interval=5, max_keep_ckpts=1, save_best='accuracy/top1',
                    rule='greater'),
)
randomness = dict(seed=0)
