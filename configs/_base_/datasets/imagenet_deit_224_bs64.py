# DeiT's ImageNet pipeline with 64 images per process (EAMLP: 8 x 64).
_base_ = ['./imagenet_deit_224.py']
train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = dict(batch_size=64)
