# UPerNet with a small ReAttention MixerViT (conv stem, 16x16 tokens, width 64, 4 blocks) on 64x64 digit scenes,
# from scratch, 1 process x 8 scenes, 3k iterations (an iteration costs ~1.7-1.8x self-attention's: the maps are
# formed explicitly for the head mixing; 4k would not fit the 15-minute budget on one core).
# Re-attention's BatchNorm over heads sees attention maps; its running averages lag the weights, so the BN
# statistics are recomputed on 1,024 training scenes before the evaluation (Precise BN). Measured: 82.65 mIoU with
# them, 14.06 without: mmpretrain's PreciseBNHook, tried first, received no batch in this iteration-based loop and
# left the statistics at zero.
_base_ = [
    '../../_base_/models/upernet_mixervit_digit_scenes.py',
    '../../_base_/datasets/digit_scenes_64px.py',
    '../../_base_/segmentation_runtime.py',
    '../../_base_/schedules/digit_scenes_adamw_3k.py',
]
model = dict(backbone=dict(mixer='ReAttention'))
custom_hooks = [dict(type='PreciseBNStatsHook', num_samples=1024, interval=3000)]
