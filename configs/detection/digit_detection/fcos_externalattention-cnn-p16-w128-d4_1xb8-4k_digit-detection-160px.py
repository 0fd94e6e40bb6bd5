# FCOS with a small ExternalAttention MixerViT (conv stem, stride-16 tokens, width 128, 4 blocks) and ViTDet's
# simple feature pyramid on digit detection, from scratch, 1 process x 8 images, 4k iterations. External
# attention's cost is linear in the tokens: it needs no windows.
_base_ = [
    '../../_base_/models/fcos_mixervit_digit_detection.py',
    '../../_base_/datasets/digit_detection_coco.py',
    '../../_base_/detection_runtime.py',
    '../../_base_/schedules/detection_adamw_4k.py',
]
model = dict(backbone=dict(mixer='ExternalAttention'))
