# SNGAN: the SAGAN networks without an attention block (the no-attention control), class-conditional digits.
_base_ = [
    '../../_base_/models/sagan_digits.py',
    '../../_base_/datasets/digits_gen_32px.py',
    '../../_base_/schedules/gan_adam_1k.py',
]
model = dict(generator=dict(attention=None), discriminator=dict(attention=None))
