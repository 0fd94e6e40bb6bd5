# Small PCT with the ExternalAttention mixer, classification of the generated shapes from scratch (CPU minutes).
_base_ = [
    '../../_base_/models/pct_shapes_cls.py',
    '../../_base_/datasets/shapes_cls.py',
    '../../_base_/schedules/shapes_adamw_10e.py',
]
model = dict(backbone=dict(mixer='ExternalAttention'))
