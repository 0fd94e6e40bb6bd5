# A small PCT for the generated shapes (CPU minutes): xyz + normals, embedding 32, neighbour embedding
# 512 -> 128 -> 64 centres (k = 16, widths 64, 64), four mixer layers of width 64, fused to 256.
model = dict(
    type='PointCloudModel',
    backbone=dict(
        type='PointMixerBackbone',
        in_channels=6,
        embed_dims=32,
        neighbor_embed=dict(num_points=(128, 64), k=16, channels=(64, 64)),
        depth=4,
        mixer='OffsetAttention',
        num_heads=4,
        num_points=512,
        fuse_channels=256),
    head=dict(type='PointClsHead', num_classes=10, hidden=(256, 128), dropout=0.5, label_smoothing=0.1),
)
