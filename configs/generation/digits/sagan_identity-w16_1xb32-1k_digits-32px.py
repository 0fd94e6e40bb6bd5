# SAGAN with the IdentityMixer mixer in the attention block of both networks, class-conditional digits.
_base_ = [
    '../../_base_/models/sagan_digits.py',
    '../../_base_/datasets/digits_gen_32px.py',
    '../../_base_/schedules/gan_adam_1k.py',
]
mixer = dict(mixer='IdentityMixer')
model = dict(generator=dict(attention=mixer), discriminator=dict(attention=mixer))
