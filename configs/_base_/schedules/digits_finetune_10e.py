# Fine-tuning on digits: AdamW 5e-4, 1 warm-up epoch, cosine over 10 epochs (runtime as the digits schedule).
_base_ = ['./digits_adamw_40e.py']
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=1, end=10, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=10, val_interval=2)
