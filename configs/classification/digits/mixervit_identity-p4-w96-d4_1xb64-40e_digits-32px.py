# No-token-mixing control (IdentityMixer, MetaFormer's IdentityFormer idea) on digits (32x32, patch 4) from scratch,
# 1 process x batch 64, 40 epochs. Read out by averaging the patch tokens: a class token that never mixes never sees
# the image.
_base_ = [
    '../../_base_/models/mixervit_digits.py',
    '../../_base_/datasets/digits_32px.py',
    '../../_base_/schedules/digits_adamw_40e.py',
]
model = dict(backbone=dict(mixer='IdentityMixer', out_type='avg_featmap', with_cls_token=False))
