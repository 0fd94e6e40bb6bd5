# PCT with the ExternalAttention mixer in its four attention layers, ModelNet40 classification, PCT's recipe
# (1024 points, batch 32, 250 epochs, SGD + cosine, random scale + translate).
_base_ = [
    '../../_base_/models/pct_cls.py',
    '../../_base_/datasets/modelnet40.py',
    '../../_base_/schedules/pct_sgd_cosine_250e.py',
]
model = dict(backbone=dict(mixer='ExternalAttention'))
default_hooks = dict(checkpoint=dict(save_best='point/OA', rule='greater'))
