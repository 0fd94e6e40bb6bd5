# SelfAttention mixer on digits (32x32, patch 4) from scratch, 1 process x batch 64, 40 epochs.
_base_ = [
    '../../_base_/models/mixervit_digits.py',
    '../../_base_/datasets/digits_32px.py',
    '../../_base_/schedules/digits_adamw_40e.py',
]
model = dict(backbone=dict(mixer='SelfAttention'))
