# UPerNet with the FeedForwardMixer MixerViT encoder (ff-tiny preset) on ADE20K, mmseg's ViT-UPerNet
# recipe: 512x512 crops, 8 GPUs x 2 images, 160k iterations. ImageNet weights:
#   tools/convert_checkpoint.py ff OFFICIAL.pth checkpoints/ff-tiny_in1k.pth
_base_ = ['../../_base_/ade20k_upernet_mixervit.py']
model = dict(
    backbone=dict(
        arch='ff-tiny',
        img_size=224,  # keep the checkpoint's token MLPs (197 tokens) and resize them to the 32x32 grid
        token_resize='bilinear',
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/ff-tiny_in1k.pth', prefix='backbone.')),
    neck=dict(in_channels=[192] * 4, out_channels=192),
    decode_head=dict(in_channels=[192] * 4),
    auxiliary_head=dict(in_channels=192),
    # FF-only: sliding windows of the training crop (images smaller than it padded up to it), so the
    # token MLPs always see the training grid
    data_preprocessor=dict(test_cfg=dict(size=(512, 512))),
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))
