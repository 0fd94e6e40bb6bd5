# EAMLP's schedule (official args.yaml): AdamW lr 1e-3 for batch 512, weight decay 0.03, 5 warm-up epochs
# from 1e-6, cosine to 1e-5 over 300 epochs, 10 cool-down epochs, EMA of the weights with decay 0.99996.
_base_ = ['./imagenet_adamw_300e.py']
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.03))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=5, end=300),
    dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=300, end=310),
]
train_cfg = dict(max_epochs=310)
auto_scale_lr = dict(base_batch_size=512)
custom_hooks = [dict(type='EMAHook', momentum=4e-5, priority='ABOVE_NORMAL')]
