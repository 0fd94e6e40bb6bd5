# Small PCT with the OffsetAttention mixer, part segmentation of the generated objects from scratch (CPU minutes).
_base_ = [
    '../../_base_/models/pct_shapes_part.py',
    '../../_base_/datasets/shapes_part.py',
    '../../_base_/schedules/shapes_adamw_10e.py',
]
model = dict(backbone=dict(mixer='OffsetAttention'))
