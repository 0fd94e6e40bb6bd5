# From scratch on digit scenes: AdamW 1e-3 (no decay on position tables, class token, norms), 150 warm-up
# iterations, linear decay to 0 at 4k iterations; evaluated and checkpointed at the end.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        'pos_embed': dict(decay_mult=0.),
        'cls_token': dict(decay_mult=0.),
        'norm': dict(decay_mult=0.)
    }))
max_iters = 4000
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=150),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=150, end=max_iters, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(  # mmseg keeps the hooks in its schedule files; so does the zoo
    timer=dict(type='IterTimerHook'),
    step_seed=dict(type='StepSeedHook'),  # randomness of each training step from (seed, iteration, rank)
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # interval 1: `test.py --show-dir` of mmseg's own tools draws every image (the default 50 would skip all
    # of them: validation runs 8 batches of 50); drawing is off unless a tool turns it on (draw=False)
    visualization=dict(type='SegVisualizationHook', interval=1))
randomness = dict(seed=0)
