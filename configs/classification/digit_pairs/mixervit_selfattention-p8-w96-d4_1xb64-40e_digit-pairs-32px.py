# SelfAttention mixer on digit pairs (32x32, two 8x8 digits in a 4x4 grid of cells, label (a + b) mod 10), patch 8
# (one token per cell: a digit is one token, combining two is the mixer's job), from scratch, 1 process x batch 64,
# 40 epochs. Read out by averaging the patch tokens, as the no-mixing control must be (identity_*), so that the mixer
# is the only difference between the two configs.
_base_ = [
    '../../_base_/models/mixervit_digits.py',
    '../../_base_/datasets/digit_pairs_32px.py',
    '../../_base_/schedules/digits_adamw_40e.py',
]
model = dict(
    backbone=dict(mixer='SelfAttention', arch=dict(stem=dict(patch_size=8)), out_type='avg_featmap',
                  with_cls_token=False))
