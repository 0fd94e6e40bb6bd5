# SAGAN with the ExternalAttention mixer in the attention block of both networks, class-conditional digits.
# External attention as the paper's Algorithm 1 (the unit it puts into SAGAN): one head over all channels and
# S = 64 memory units, no width expansion (EAMLP's multi-head form, 4 x num_heads heads of C / num_heads channels,
# is for classification; at 16x16 tokens it costs 24x this unit's time for no measured gain).
_base_ = [
    '../../_base_/models/sagan_digits.py',
    '../../_base_/datasets/digits_gen_32px.py',
    '../../_base_/schedules/gan_adam_1k.py',
]
mixer = dict(mixer=dict(type='ExternalAttention', num_heads=1, memory=64, expansion=1, _delete_=True))
model = dict(generator=dict(attention=mixer), discriminator=dict(attention=mixer))
