# EANet's PASCAL VOC schedule: 45k iterations, SGD lr 9e-3 with poly 0.9 decay (to 0), momentum 0.9,
# weight decay 1e-4; evaluated and checkpointed every 4.5k iterations.
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.009, momentum=0.9, weight_decay=0.0001), clip_grad=None)
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=45000, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=45000, val_interval=4500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(  # mmseg keeps the hooks in its schedule files
    timer=dict(type='IterTimerHook'),
    step_seed=dict(type='StepSeedHook'),  # randomness of each training step from (seed, iteration, rank)
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=4500),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
