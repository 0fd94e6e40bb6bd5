# SAGAN with the SelfAttention mixer in the attention block of both networks, class-conditional digits.
_base_ = [
    '../../_base_/models/sagan_digits.py',
    '../../_base_/datasets/digits_gen_32px.py',
    '../../_base_/schedules/gan_adam_1k.py',
]
mixer = dict(mixer='SelfAttention', num_heads=1)  # one head, as SAGAN's block
model = dict(generator=dict(attention=mixer), discriminator=dict(attention=mixer))
