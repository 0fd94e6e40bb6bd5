# Fine-tune a converted official vit-tiny ImageNet checkpoint on digits (or any class-per-folder data) at 64 px.
# Convert first:  python tools/convert_checkpoint.py timm OFFICIAL.pth checkpoints/vit-tiny_in1k.pth
# The classifier head is re-initialised for the new classes; every backbone key must load (MixerViT checks).
# The 14x14 position table of the checkpoint is resized to 4x4 when it is loaded.
_base_ = [
    '../../_base_/models/mixervit_digits.py',
    '../../_base_/datasets/digits_64px.py',
    '../../_base_/schedules/digits_finetune_10e.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='MixerViT',
        arch='vit-tiny',
        img_size=64,  # the 224 px position table is resized bicubically on load
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/vit-tiny_in1k.pth', prefix='backbone.'),
    ),
    head=dict(in_channels=192),
)
