# UPerNet with the ReAttention MixerViT encoder (deepvit-16b preset) on ADE20K, mmseg's ViT-UPerNet
# recipe: 512x512 crops, 8 GPUs x 2 images, 160k iterations. ImageNet weights:
#   tools/convert_checkpoint.py deepvit OFFICIAL.pth checkpoints/deepvit-16b_in1k.pth
_base_ = ['../../_base_/ade20k_upernet_mixervit.py']
model = dict(
    backbone=dict(
        arch='deepvit-16b',
        # 16 blocks over 32x32 tokens, each keeping (H, N, N) attention maps before and after the head mixing:
        # with_cp recomputes each block's activations in the backward pass instead of storing them (same
        # gradients; less memory for one more forward per step)
        with_cp=True,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/deepvit-16b_in1k.pth', prefix='backbone.')),
    neck=dict(in_channels=[384] * 4, out_channels=384),
    decode_head=dict(in_channels=[384] * 4),
    auxiliary_head=dict(in_channels=384))
