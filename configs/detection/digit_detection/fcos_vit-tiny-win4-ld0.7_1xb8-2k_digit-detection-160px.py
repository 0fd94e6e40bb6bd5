# FCOS with a ViTDet-style vit-tiny (Li et al. 2022): the SelfAttention preset without its class token, window
# attention in 4x4 windows of the patch grid with global blocks 2, 5, 8, 11, drop-path 0.1, fine-tuned from
# ImageNet weights with layer-wise lr decay 0.7 (ViTDet's rate), on digit detection; 1 process x 8 images, 2k
# iterations. ImageNet weights (timm's vit_tiny_patch16_224, converted):
#   tools/convert_checkpoint.py timm OFFICIAL.pth checkpoints/vit-tiny_in1k.pth
# The load is partial by design: the class token has no place in a detector's backbone (reported as unexpected)
# and the position table's class-token row is dropped and its 14x14 grid resized to the 10x10 of a 160 px input
# (reported as resized); every other backbone tensor must match (min_key_share).
_base_ = [
    '../../_base_/models/fcos_mixervit_digit_detection.py',
    '../../_base_/datasets/digit_detection_coco.py',
    '../../_base_/detection_runtime.py',
    '../../_base_/schedules/detection_adamw_2k_ld0.7.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='MixerViT',
        arch='vit-tiny',
        img_size=160,
        with_cls_token=False,
        out_indices=(11, ),
        out_type='featmap',
        window_size=4,
        global_blocks=(2, 5, 8, 11),
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/vit-tiny_in1k.pth', prefix='backbone.',
                      strict=False, min_key_share=0.95)),
    neck=dict(in_channels=192))
optim_wrapper = dict(optimizer=dict(lr=2e-4))
