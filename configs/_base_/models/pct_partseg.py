# PCT for part segmentation: one token per point (no sampling: the per-point embedding only, width 128), four
# mixer layers, fused to 1024; per point [token, global max, global mean, category one-hot -> 64] -> 512 - 256 -
# parts. Predictions are restricted to the parts of the shape's category.
model = dict(
    type='PointCloudModel',
    backbone=dict(
        type='PointMixerBackbone',
        in_channels=3,
        embed_dims=128,
        neighbor_embed=None,
        dim=128,
        depth=4,
        mixer='OffsetAttention',
        num_heads=4,
        num_points=1024,
        fuse_channels=1024),
    head=dict(type='PointPartSegHead', num_parts=50, num_categories=16, label_channels=64, hidden=(512, 256),
              dropout=0.5),
)
