# The 2k detection schedule for fine-tuning a pre-trained backbone: layer-wise lr decay 0.7 (ViTDet's rate; each
# block's rate is 0.7x the next one's, the stem's and position table's below the first block's), no weight decay on
# norms, biases and the position table.
_base_ = ['./detection_adamw_2k.py']
optim_wrapper = dict(
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(_delete_=True, layer_decay_rate=0.7, flat_decay_mult=0.0,
                       custom_keys={'pos_embed': dict(decay_mult=0.)}))
