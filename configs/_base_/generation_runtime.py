# Runtime shared by the generation configs: plain mmengine scope (the GAN modules live in the root registries),
# iteration-based logging and checkpoints, seeded steps (exact resume with both optimizers).
default_scope = 'mmengine'
custom_imports = dict(imports=['backbones'], allow_failed_imports=False)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=500, max_keep_ckpts=1,
                    save_best='gen/fd', rule='less'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    step_seed=dict(type='StepSeedHook'),  # the noise of each training step from (seed, iteration, rank)
)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
# Several processes (tools/dist_train.sh): each network in its own data-parallel wrapper, the model's train_step
# still drives both optimizers (mmengine's MMSeparateDistributedDataParallel; the zoo's subclass also takes CPU
# modules); ignored in one process.
model_wrapper_cfg = dict(type='CPUSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=False)
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
