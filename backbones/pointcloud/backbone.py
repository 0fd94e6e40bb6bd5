"""PCT-style point backbone whose four attention layers are any registered token mixer.

Guo et al. 2021, "PCT: Point Cloud Transformer": per-point input embedding (two LBRs), optional
neighbour embedding (two sample-and-group stages; 512 then 256 centres, k = 32 for ModelNet40),
four mixer layers over the point tokens, their outputs concatenated and fused by an LBR, and a
global feature of max and average pooling. Each layer is the zoo's :class:`~backbones.models.block.Block`:
``x = x + drop_path(mixer(norm(x)))`` (no norm in front of mixers that normalise by themselves,
``channel_prenorm = False``, such as PCT's offset-attention and FF-over-points), optionally followed by a
channel MLP branch (PCT has none: ``mlp_ratio=0``).
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.registry import MODELS

from backbones.engine.checkpoint.pretrained import SafePretrainedMixin
from backbones.models.block import build_blocks, checkpoint_module, stacked_layer_depth, wants_checkpoint
from backbones.pointcloud.layers import LBR, SampleAndGroup


@MODELS.register_module()
class PointMixerBackbone(SafePretrainedMixin, BaseModule):
    """PCT's encoder with a pluggable token mixer, points (B, N, C_in) -> per-token and global features.

    Args:
        in_channels: per-point input channels; the first three are xyz (3: xyz, 6: xyz + normals).
        embed_dims: width of the input embedding (64 in PCT).
        neighbor_embed: ``dict(num_points=(512, 256), k=32, channels=(128, 256))`` (PCT) or None
            (per-point embedding only, "naive PCT"). A ``num_points`` entry None keeps every point.
        dim: token width of the mixer layers when ``neighbor_embed`` is None (else its last channels).
        depth: number of mixer layers (4 in PCT).
        mixer: mixer spec (name, dict, class) for every layer, or a list with one per layer.
        num_heads: heads offered to mixers that take ``num_heads``.
        num_points: input points N; fixes the token count for mixers built for one N (FF over
            points) when the last stage keeps every point or there is no neighbour embedding.
        mlp_ratio: channel MLP after each mixer (0: none, as PCT).
        fuse_channels: width of the fused concatenation of the layer outputs (1024 in PCT).
        drop_path_rate: stochastic depth, linear over the layers.
        attn_drop_rate: offered to mixers as ``attn_drop``.
        init_cfg: mmengine initialisation config.
        with_cp: activation checkpointing per mixer layer while training (mmpretrain's ``with_cp``): same
            gradients and BatchNorm statistics, less memory, one more forward of each layer.

    Returns of forward: ``(tokens, global_feat, token_xyz)`` - tokens (B, M, fuse_channels),
    global_feat (B, 2 * fuse_channels) = [max, mean] over tokens, token_xyz (B, M, 3).
    """

    def __init__(self, in_channels: int = 3, embed_dims: int = 64, neighbor_embed: dict | None = None,
                 dim: int = 128, depth: int = 4, mixer: Any = "OffsetAttention", num_heads: int = 4,
                 num_points: int | None = None, mlp_ratio: float = 0.0, fuse_channels: int = 1024,
                 drop_path_rate: float = 0.0, attn_drop_rate: float = 0.0, init_cfg: dict | None = None,
                 with_cp: bool = False) -> None:
        super().__init__(init_cfg)
        if in_channels < 3:
            raise ValueError(f"PointMixerBackbone: in_channels must be >= 3 (xyz first), got {in_channels}")
        self.in_channels, self.with_cp = in_channels, with_cp
        self.embed = nn.Sequential(LBR(in_channels, embed_dims), LBR(embed_dims, embed_dims))
        self.stages = nn.ModuleList()
        num_tokens, width = num_points, embed_dims
        if neighbor_embed is not None:
            ne = {**dict(num_points=(512, 256), k=32, channels=(128, 256)), **neighbor_embed}  # PCT's defaults
            if len(ne["num_points"]) != len(ne["channels"]):
                raise ValueError(f"PointMixerBackbone: neighbor_embed num_points {ne['num_points']} and channels "
                                 f"{ne['channels']} must have the same length")
            for m, c in zip(ne["num_points"], ne["channels"]):
                self.stages.append(SampleAndGroup(width, c, m, ne["k"]))
                width, num_tokens = c, (m if m is not None else num_tokens)
            dim = width
        elif dim != embed_dims:
            self.embed.append(LBR(embed_dims, dim))
        self.dim, self.num_tokens = dim, num_tokens
        self.layers = build_blocks(mixer, depth, dim, mlp_ratio=mlp_ratio, drop_path_rate=drop_path_rate, norm_eps=1e-5,
                                   num_heads=num_heads, num_tokens=num_tokens, qkv_bias=True, attn_drop=attn_drop_rate,
                                   proj_drop=0.0)
        self.fuse = LBR(dim * depth, fuse_channels, act="leaky")
        self.out_channels = fuse_channels

    def forward(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """points (B, N, C_in) -> (tokens (B, M, F), global (B, 2F), token_xyz (B, M, 3))."""
        if points.dim() != 3 or points.shape[-1] != self.in_channels:
            raise ValueError(f"PointMixerBackbone expects points (B, N, {self.in_channels}), got {tuple(points.shape)}")
        xyz = points[..., :3].contiguous()
        x = self.embed(points)
        for stage in self.stages:
            xyz, x = stage(xyz, x)
        outs = []
        for layer in self.layers:
            x = checkpoint_module(layer, x) if wants_checkpoint(self, self.with_cp) else layer(x)
            outs.append(x)
        tokens = self.fuse(torch.cat(outs, dim=-1))
        return tokens, torch.cat([tokens.max(dim=1).values, tokens.mean(dim=1)], dim=-1), xyz

    def get_layer_depth(self, param_name: str, prefix: str = "") -> tuple[int, int]:
        """Layer-wise depth of a parameter, for layer-wise learning-rate decay (mmpretrain's contract).

        Depth 0 is the input and neighbour embedding, mixer layer ``i`` is depth ``i + 1``; the fusion of the
        layer outputs and every parameter outside the backbone (not starting with ``prefix``) are depth
        ``num_layers - 1``.

        Args:
            param_name: parameter name, e.g. ``'backbone.layers.2.mixer.q.weight'``.
            prefix: the backbone's prefix in the model, e.g. ``'backbone.'``.

        Returns:
            ``(layer_depth, num_layers)`` with ``num_layers = len(layers) + 2``.
        """
        return stacked_layer_depth(param_name, prefix, ("embed", "stages"), "layers", len(self.layers))
