# FCOS with the self-attention digit-detection backbone fine-tuned from its own classifier (pre-trained on the digits
# at 64 px: mixervit_selfattention-cnn-p16-w128-d4_1xb64-40e_digits-64px.py) with layer-wise lr decay 0.7 (ViTDet's
# rate), 1 process x 8 images, 2k iterations. Put the classifier's checkpoint where init_cfg says:
#   python tools/train.py configs/classification/digits/mixervit_selfattention-cnn-p16-w128-d4_1xb64-40e_digits-64px.py
#   cp work_dirs/mixervit_selfattention-cnn-p16-w128-d4_1xb64-40e_digits-64px/epoch_40.pth \
#      checkpoints/mixervit_selfattention-cnn-p16-w128-d4_digits-64px.pth
# The load is partial by design: the class token (reported as unexpected) and the position table's class row are
# dropped, and its 4x4 grid is resized to the 10x10 of a 160 px input (reported as resized).
_base_ = [
    '../../_base_/models/fcos_mixervit_digit_detection.py',
    '../../_base_/datasets/digit_detection_coco.py',
    '../../_base_/detection_runtime.py',
    '../../_base_/schedules/detection_adamw_2k_ld0.7.py',
]
model = dict(
    backbone=dict(
        mixer='SelfAttention',
        init_cfg=dict(type='Pretrained', prefix='backbone.', strict=False, min_key_share=0.95,
                      checkpoint='checkpoints/mixervit_selfattention-cnn-p16-w128-d4_digits-64px.pth')))
