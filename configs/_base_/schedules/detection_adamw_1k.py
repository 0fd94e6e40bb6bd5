# The 2k schedule (AdamW 1e-3, 200 warm-up iterations, evaluation every 250) cut to 1k iterations: linear decay to 0
# at 1k, checkpointed at the end.
_base_ = ['./detection_adamw_2k.py']
max_iters = 1000
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=200),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=200, end=max_iters, by_epoch=False),
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
