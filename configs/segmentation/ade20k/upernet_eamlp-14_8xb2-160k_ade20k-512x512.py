# UPerNet with the ExternalAttention MixerViT encoder (eamlp-14 preset) on ADE20K, mmseg's ViT-UPerNet
# recipe: 512x512 crops, 8 GPUs x 2 images, 160k iterations. ImageNet weights:
#   tools/convert_checkpoint.py eamlp OFFICIAL.pth checkpoints/eamlp-14_in1k.pth
_base_ = ['../../_base_/ade20k_upernet_mixervit.py']
model = dict(
    backbone=dict(
        arch='eamlp-14',
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/eamlp-14_in1k.pth', prefix='backbone.')),
    neck=dict(in_channels=[384] * 4, out_channels=384),
    decode_head=dict(in_channels=[384] * 4),
    auxiliary_head=dict(in_channels=384))
