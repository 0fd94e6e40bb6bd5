# Mask R-CNN with a small SelfAttention MixerViT (conv stem, stride-16 tokens, width 128, 4 blocks) and ViTDet's simple
# feature pyramid on digit detection (boxes and instance masks), from scratch, 1 process x 8 images, 1k iterations.
_base_ = [
    '../../_base_/models/mask-rcnn_mixervit_digit_detection.py',
    '../../_base_/datasets/digit_detection_coco_instance.py',
    '../../_base_/detection_runtime.py',
    '../../_base_/schedules/detection_adamw_1k.py',
]
model = dict(backbone=dict(mixer='SelfAttention'))
