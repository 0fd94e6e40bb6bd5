# UPerNet with a small SelfAttention MixerViT (conv stem, 16x16 tokens, width 64, 4 blocks) on 64x64 digit
# scenes, from scratch, 1 process x 8 scenes, 4k iterations.
_base_ = [
    '../../_base_/models/upernet_mixervit_digit_scenes.py',
    '../../_base_/datasets/digit_scenes_64px.py',
    '../../_base_/segmentation_runtime.py',
    '../../_base_/schedules/digit_scenes_adamw_4k.py',
]
model = dict(backbone=dict(mixer='SelfAttention'))
