# FF-only ff-tiny (Melas-Kyriazi 2021): DeiT's recipe plus dropout 0.1 (drop_rate), no drop-path.
_base_ = [
    '../../_base_/models/mixervit_in1k.py',
    '../../_base_/datasets/imagenet_deit_224.py',
    '../../_base_/schedules/imagenet_adamw_300e.py',
    '../../_base_/default_runtime.py',
]
model = dict(backbone=dict(arch='ff-tiny', drop_rate=0.1, drop_path_rate=0.0), head=dict(in_channels=192))
