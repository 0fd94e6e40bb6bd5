# Runtime shared by every classification config of the zoo (mmpretrain scope).
default_scope = 'mmpretrain'
custom_imports = dict(imports=['backbones'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3, save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    step_seed=dict(type='StepSeedHook'),  # randomness of each training step from (seed, iteration, rank)
    visualization=dict(type='VisualizationHook', enable=False),
)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
# Seeded: model init, sampler order, augmentation in the (persistent) loader workers and dropout all follow
# from the seed, so a run repeats exactly on the same machine with the same thread count. Across CPUs the float
# kernels (oneDNN / MKL per instruction set) differ and so do the results: report a spread over seeds there
# (lab/tools/train_table.py digits --seeds). deterministic=True (torch.use_deterministic_algorithms) changes nothing
# on the CPU kernels these configs use and makes torch fill every new tensor first.
randomness = dict(seed=0, deterministic=False)
