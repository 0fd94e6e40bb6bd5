# mmseg's ViT-UPerNet schedule (vit_vit-b16_mln_upernet_8xb2-160k_ade20k-512x512.py): mmseg's 160k iteration
# loop, AdamW 6e-5 (no weight decay on position tables, class token and norms), 1,500 linear warm-up
# iterations, then linear (poly 1.0) decay to 0.
_base_ = ['mmseg::_base_/schedules/schedule_160k.py']
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.00006, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        'pos_embed': dict(decay_mult=0.),
        'cls_token': dict(decay_mult=0.),
        'norm': dict(decay_mult=0.)
    }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
# crash-safe checkpoints (backbones.engine.checkpoint): written before old ones are removed, atomically
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
