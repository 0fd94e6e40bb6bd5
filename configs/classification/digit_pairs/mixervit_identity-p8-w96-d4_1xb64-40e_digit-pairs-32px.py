# No-token-mixing control (IdentityMixer: each token sees only itself until the average read-out) on digit pairs
# (32x32, patch 8), 1 process x batch 64, 40 epochs. Its logits are a sum of per-token terms, so it cannot combine
# the two digits (lab/study/data.py): it measures what the task gives away without mixing.
_base_ = ['./mixervit_selfattention-p8-w96-d4_1xb64-40e_digit-pairs-32px.py']
model = dict(backbone=dict(mixer='IdentityMixer'))
