# The digit-detection backbone as a classifier: SelfAttention MixerViT with DeepViT's convolutional stem (width 16,
# stride-16 tokens: 4x4 + class token at 64 px), width 128, 4 blocks, on digits at 64 px from scratch, 1 process x
# batch 64, 40 epochs; the detection configs' pixel statistics (127.5), so its checkpoint can start a detector
# (fcos_selfattention-cnn-p16-w128-d4-digits64-pre-ld0.7_*).
_base_ = [
    '../../_base_/models/mixervit_digits.py',
    '../../_base_/datasets/digits_64px.py',
    '../../_base_/schedules/digits_adamw_40e.py',
]
data_preprocessor = dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5])
model = dict(
    backbone=dict(mixer='SelfAttention', img_size=64,
                  arch=dict(embed_dims=128, stem=dict(_delete_=True, type='CNNStem', patch_size=16, width=16))),
    head=dict(in_channels=128))
