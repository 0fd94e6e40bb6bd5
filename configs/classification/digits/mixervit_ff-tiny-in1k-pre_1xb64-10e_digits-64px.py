# Fine-tune a converted official ff-tiny ImageNet checkpoint on digits (or any class-per-folder data) at 64 px.
# Convert first:  python tools/convert_checkpoint.py ff OFFICIAL.pth checkpoints/ff-tiny_in1k.pth
# The classifier head is re-initialised for the new classes; every backbone key must load (MixerViT checks).
# FF-only's token MLP was built for 197 tokens: token_resize='bilinear' resizes it (and the position grid)
# for 64 px inputs.
_base_ = [
    '../../_base_/models/mixervit_digits.py',
    '../../_base_/datasets/digits_64px.py',
    '../../_base_/schedules/digits_finetune_10e.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='MixerViT',
        arch='ff-tiny',
        img_size=224,  # keep the checkpoint's geometry: FF-only's token MLP is resized per input (token_resize)
        token_resize='bilinear',
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/ff-tiny_in1k.pth', prefix='backbone.'),
    ),
    head=dict(in_channels=192),
)
