# PCT (Guo et al. 2021) for classification: input embedding 64, neighbour embedding 512 -> 256 centres (k = 32,
# widths 128, 256), four mixer layers of width 256, fused to 1024, [max, mean] pooled, LBR 512 - 256 head.
model = dict(
    type='PointCloudModel',
    backbone=dict(
        type='PointMixerBackbone',
        in_channels=3,
        embed_dims=64,
        neighbor_embed=dict(num_points=(512, 256), k=32, channels=(128, 256)),
        depth=4,
        mixer='OffsetAttention',
        num_heads=4,
        num_points=1024,
        fuse_channels=1024),
    head=dict(type='PointClsHead', num_classes=40, hidden=(512, 256), dropout=0.5, label_smoothing=0.2),
)
