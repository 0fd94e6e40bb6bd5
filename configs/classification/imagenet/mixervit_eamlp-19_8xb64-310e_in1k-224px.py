# External attention eamlp-19 (EAMLP, Guo et al. 2021) with the official recipe (args.yaml): batch 8 x 64,
# AdamW lr 1e-3, weight decay 0.03, drop-path 0.1, 300 + 10 epochs, EMA 0.99996.
_base_ = [
    '../../_base_/models/mixervit_in1k.py',
    '../../_base_/datasets/imagenet_deit_224_bs64.py',
    '../../_base_/schedules/imagenet_adamw_310e_eamlp.py',
    '../../_base_/default_runtime.py',
]
model = dict(backbone=dict(arch='eamlp-19', drop_path_rate=0.1), head=dict(in_channels=448))
