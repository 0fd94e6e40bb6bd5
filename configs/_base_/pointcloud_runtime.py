# Runtime shared by the point-cloud configs: plain mmengine scope (our modules live in the root registries).
default_scope = 'mmengine'
custom_imports = dict(imports=['backbones'], allow_failed_imports=False)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', interval=10, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    step_seed=dict(type='StepSeedHook'),  # randomness of each training step from (seed, iteration, rank)
    # tools/test.py --show-dir DIR turns this on: PNG renderings of the predictions (parts coloured per label)
    visualization=dict(type='PointCloudVisualizationHook', enable=False),
)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
