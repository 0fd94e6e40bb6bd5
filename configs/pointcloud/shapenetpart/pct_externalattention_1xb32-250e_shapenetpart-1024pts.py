# PCT with the ExternalAttention mixer in its four attention layers, ShapeNetPart part segmentation, PCT's recipe
# (1024 points, batch 32, 250 epochs, SGD + cosine, random scale + translate).
_base_ = [
    '../../_base_/models/pct_partseg.py',
    '../../_base_/datasets/shapenetpart.py',
    '../../_base_/schedules/pct_sgd_cosine_250e.py',
]
model = dict(backbone=dict(mixer='ExternalAttention'))
default_hooks = dict(checkpoint=dict(save_best='part/ins_mIoU', rule='greater'))
