# mmseg's fine-tuning recipe for pre-trained ViT encoders on ADE20K (BEiT: beit/upernet_beit-base_8xb2-160k_
# ade20k-640x640.py; MAE: mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py): mmseg's 160k iteration loop,
# AdamW lr 3e-5, weight decay 0.05 (none on position tables, class token, norms and biases), layer-wise lr decay
# 0.9 (BEiT's rate; MAE's recipe is lr 1e-4 with 0.65): with L blocks, block i (0-based) learns at
# lr * 0.9 ** (L - i), stem / class token / position table at lr * 0.9 ** (L + 1), final norm, neck and heads at
# lr. The depths come from the backbone's get_layer_depth (LayerDecayOptimWrapperConstructor; mmseg's own
# LayerDecayOptimizerConstructor accepts only BEiT / MAE / ConvNeXt class names). 1,500 linear warm-up
# iterations, then linear (poly 1.0) decay to 0.
_base_ = ['mmseg::_base_/schedules/schedule_160k.py']
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-5, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.9,
        flat_decay_mult=0.0,
        custom_keys={
            'pos_embed': dict(decay_mult=0.),
            'cls_token': dict(decay_mult=0.)
        }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
# crash-safe checkpoints (backbones.engine.runner.checkpoint_hook): written before old ones are removed, atomically
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'), step_seed=dict(type='StepSeedHook'))
