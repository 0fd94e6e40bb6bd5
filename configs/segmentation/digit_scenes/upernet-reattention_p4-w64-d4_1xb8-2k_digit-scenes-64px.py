# UPerNet with a small ReAttention MixerViT (patch 4, width 64, 4 blocks) on 64x64 digit scenes, from scratch,
# 1 process x 8 scenes, 2k iterations.
_base_ = [
    '../../_base_/models/upernet_mixervit_digit_scenes.py',
    '../../_base_/datasets/digit_scenes_64px.py',
    '../../_base_/segmentation_runtime.py',
    '../../_base_/schedules/digit_scenes_adamw_2k.py',
]
model = dict(backbone=dict(mixer='ReAttention'))
