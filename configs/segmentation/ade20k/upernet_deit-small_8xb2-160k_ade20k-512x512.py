# UPerNet with the SelfAttention MixerViT encoder (deit-small preset) on ADE20K, mmseg's ViT-UPerNet
# recipe: 512x512 crops, 8 GPUs x 2 images, 160k iterations. ImageNet weights:
#   tools/convert_checkpoint.py timm OFFICIAL.pth checkpoints/deit-small_in1k.pth
_base_ = ['../../_base_/ade20k_upernet_mixervit.py']
model = dict(
    backbone=dict(
        arch='deit-small',
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/deit-small_in1k.pth', prefix='backbone.')),
    neck=dict(in_channels=[384] * 4, out_channels=384),
    decode_head=dict(in_channels=[384] * 4),
    auxiliary_head=dict(in_channels=384))
