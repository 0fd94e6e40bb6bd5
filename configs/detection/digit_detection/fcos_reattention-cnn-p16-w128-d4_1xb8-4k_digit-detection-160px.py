# FCOS with a small ReAttention MixerViT (conv stem, stride-16 tokens, width 128, 4 blocks, global attention)
# and ViTDet's simple feature pyramid on digit detection, from scratch, 1 process x 8 images, 4k iterations.
# Re-attention's BatchNorm over heads sees attention maps; its running averages lag the weights, so the BN
# statistics are recomputed on 256 training images before each evaluation (Precise BN, as the digit-scenes
# Re-attention config does).
_base_ = [
    '../../_base_/models/fcos_mixervit_digit_detection.py',
    '../../_base_/datasets/digit_detection_coco.py',
    '../../_base_/detection_runtime.py',
    '../../_base_/schedules/detection_adamw_4k.py',
]
model = dict(backbone=dict(mixer='ReAttention'))
custom_hooks = [dict(type='PreciseBNStatsHook', num_samples=256, interval=250)]
