# UPerNet with a small FeedForwardMixer MixerViT (conv stem, 16x16 tokens, width 64, 4 blocks) on 64x64 digit
# scenes, from scratch, 1 process x 8 scenes, 4k iterations.
_base_ = [
    '../../_base_/models/upernet_mixervit_digit_scenes.py',
    '../../_base_/datasets/digit_scenes_64px.py',
    '../../_base_/segmentation_runtime.py',
    '../../_base_/schedules/digit_scenes_adamw_4k.py',
]
# FF-only's token MLPs are built for the 16x16 grid of a 64x64 input: test with sliding windows of the
# training crop, images smaller than the crop padded up to it, so scenes of any size can be evaluated.
model = dict(
    backbone=dict(mixer='FeedForwardMixer'),
    data_preprocessor=dict(test_cfg=dict(size=(64, 64))),
    test_cfg=dict(mode='slide', crop_size=(64, 64), stride=(43, 43)))
