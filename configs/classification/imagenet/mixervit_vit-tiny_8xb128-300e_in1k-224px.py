# Self-attention vit-tiny (timm ViT / DeiT), DeiT's recipe: 300 epochs, batch 1024, AdamW 1e-3, drop-path 0.1.
_base_ = [
    '../../_base_/models/mixervit_in1k.py',
    '../../_base_/datasets/imagenet_deit_224.py',
    '../../_base_/schedules/imagenet_adamw_300e.py',
    '../../_base_/default_runtime.py',
]
model = dict(backbone=dict(arch='vit-tiny', drop_path_rate=0.1), head=dict(in_channels=192))
