# Re-attention (DeepViT, Zhou et al. 2021): DeiT-style recipe with drop-path 0.2;
# inputs normalised with mean = std = 0.5 as the official models.
_base_ = [
    '../../_base_/models/mixervit_in1k.py',
    '../../_base_/datasets/imagenet_deit_224.py',
    '../../_base_/schedules/imagenet_adamw_300e.py',
    '../../_base_/default_runtime.py',
]
model = dict(backbone=dict(arch='deepvit-24b', drop_path_rate=0.2), head=dict(in_channels=384))
data_preprocessor = dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5])
