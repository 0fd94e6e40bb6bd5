# ReAttention mixer on digits (32x32, patch 4) from scratch, 1 process x batch 64, 40 epochs.
_base_ = [
    '../../_base_/models/mixervit_digits.py',
    '../../_base_/datasets/digits_32px.py',
    '../../_base_/schedules/digits_adamw_40e.py',
]
model = dict(backbone=dict(mixer='ReAttention'))
# Re-attention's BatchNorm over heads normalises attention maps whose spread is ~1/N: while the
# head-mixing bias moves at this learning rate, the running mean lags by many standard deviations and
# eval-mode accuracy stays near chance until the schedule cools down (measured: 10% at epochs 5-25,
# 96.7% at 40). Recomputing the statistics before each validation (PreciseBN) fixes the evaluation.
custom_hooks = [dict(type='PreciseBNHook', num_samples=1024, interval=5)]
