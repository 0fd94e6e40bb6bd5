# PCT's recipe: SGD lr 0.01, momentum 0.9, weight decay 5e-4, cosine to 1e-4 over 250 epochs.
_base_ = ['../pointcloud_runtime.py']
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=250, eta_min=1e-4, by_epoch=True, convert_to_iter_based=True)]
train_cfg = dict(by_epoch=True, max_epochs=250, val_interval=5)
val_cfg = dict()
test_cfg = dict()
