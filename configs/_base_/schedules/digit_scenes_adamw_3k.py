# The digit-scenes schedule (digit_scenes_adamw_4k.py) shortened to 3k iterations, for the mixers whose
# iterations cost ~1.7-1.8x self-attention's (Re-attention, External attention): same warm-up, linear decay to 0
# at 3k, evaluated and checkpointed at the end.
_base_ = ['./digit_scenes_adamw_4k.py']
max_iters = 3000
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=150),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=150, end=max_iters, by_epoch=False),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
