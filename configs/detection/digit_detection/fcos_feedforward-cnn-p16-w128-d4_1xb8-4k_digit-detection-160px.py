# FCOS with a small FeedForwardMixer MixerViT (FF-only: an MLP over the tokens; conv stem, stride-16 tokens, width
# 128, 4 blocks) and ViTDet's simple feature pyramid on digit detection, from scratch, 1 process x 8 images, 4k
# iterations. The token MLP is built for the 10x10 grid of a 160 px input; padded batches are 128, 160 or 192 px
# (grids 8 to 12 per side), so its N-indexed weights are resized bilinearly to each grid (token_resize).
_base_ = [
    '../../_base_/models/fcos_mixervit_digit_detection.py',
    '../../_base_/datasets/digit_detection_coco.py',
    '../../_base_/detection_runtime.py',
    '../../_base_/schedules/detection_adamw_4k.py',
]
model = dict(backbone=dict(mixer='FeedForwardMixer', token_resize='bilinear'))
