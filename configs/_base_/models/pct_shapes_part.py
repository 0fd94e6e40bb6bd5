# A small PCT part segmenter for the generated objects: xyz + normals, one token per point, embedding 64,
# four mixer layers of width 64 over the 512 points, fused to 256; head 256 - 128 - 9 parts.
model = dict(
    type='PointCloudModel',
    backbone=dict(
        type='PointMixerBackbone',
        in_channels=6,
        embed_dims=64,
        neighbor_embed=None,
        dim=64,
        depth=4,
        mixer='OffsetAttention',
        num_heads=4,
        num_points=512,
        fuse_channels=256),
    head=dict(type='PointPartSegHead', num_parts=9, num_categories=4, label_channels=32, hidden=(256, 128),
              dropout=0.3),
)
