# Small PCT with the ReAttention mixer, part segmentation of the generated objects from scratch (CPU minutes).
_base_ = [
    '../../_base_/models/pct_shapes_part.py',
    '../../_base_/datasets/shapes_part.py',
    '../../_base_/schedules/shapes_adamw_10e.py',
]
model = dict(backbone=dict(mixer='ReAttention'))
# Re-attention's BatchNorm over heads needs precise statistics for evaluation. Measured on the part task: the
# training loss fell like the other mixers' (0.066 at epoch 10) but val instance mIoU was 29.5 at epoch 5 and 38.6
# at epoch 10 with the running statistics, against 98.0 for the same checkpoint with the statistics recomputed on
# 160 training shapes (the classification run: 60.0% OA at epoch 5). Recompute them before each validation.
custom_imports = dict(imports=['backbones', 'mmpretrain.engine'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='mmpretrain.PreciseBNHook', num_samples=1024, interval=5)]
