# ExternalAttention mixer on digits (32x32, patch 4) from scratch, 1 process x batch 64, 40 epochs.
_base_ = [
    '../../_base_/models/mixervit_digits.py',
    '../../_base_/datasets/digits_32px.py',
    '../../_base_/schedules/digits_adamw_40e.py',
]
# Classify from the average of the patch tokens, not the class token. Measured: with the class token the
# loss stays at chance (2.30 after 7 epochs). EA's output for a token is M_v A(token), and at init the
# memory logits are tiny, so the double normalisation makes A nearly uniform (1/S) for every token: the
# class token receives almost no information about the image until the logits grow. Patch tokens carry
# their own content through the residual path, so average pooling learns from the first epoch.
model = dict(backbone=dict(mixer='ExternalAttention', out_type='avg_featmap'))
