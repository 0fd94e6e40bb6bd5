"""Point-wise layers of the PCT-style models: Linear-BatchNorm-activation and the neighbour embedding.

All act on the last axis of (B, N, C) or (B, M, k, C) tensors, so no layout changes are needed
around the token mixers; BatchNorm statistics are taken over every point of the batch.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from backbones.pointcloud.ops import farthest_point_sample, gather_points, knn


class LBR(nn.Module):
    """``act(BN(Linear(x)))`` over the last axis of a (..., C_in) tensor (PCT's LBR / "conv1d + BN").

    Args:
        in_channels: C_in.
        out_channels: C_out.
        act: 'relu', 'leaky' (LeakyReLU 0.2, PCT's fuse and heads) or None.
    """

    def __init__(self, in_channels: int, out_channels: int, act: str | None = "relu") -> None:
        super().__init__()
        if act not in ("relu", "leaky", None):
            raise ValueError(f"LBR: act must be 'relu', 'leaky' or None, got {act!r}")
        self.linear = nn.Linear(in_channels, out_channels, bias=False)
        self.norm = nn.BatchNorm1d(out_channels)
        self.act = {"relu": nn.ReLU(inplace=True), "leaky": nn.LeakyReLU(0.2, inplace=True),
                    None: nn.Identity()}[act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., C_in) -> (..., C_out)."""
        y = self.linear(x)
        shape = y.shape
        return self.act(self.norm(y.reshape(-1, shape[-1]))).view(shape)


class SampleAndGroup(nn.Module):
    """One neighbour-embedding stage of PCT ("SG"): sample, group the k nearest, embed, max-pool.

    Centres are ``num_points`` farthest-point samples of the input (or every input point if
    ``num_points`` is None); each centre gathers the features of its k nearest input points,
    ``[f_neighbour - f_centre, f_centre]`` (2 C_in) goes through two LBRs and is max-pooled over k.

    Args:
        in_channels: C_in.
        out_channels: C_out.
        num_points: M centres (None: all N points, no sampling).
        k: neighbours per centre.
    """

    def __init__(self, in_channels: int, out_channels: int, num_points: int | None, k: int) -> None:
        super().__init__()
        self.num_points, self.k = num_points, k
        self.mlp = nn.Sequential(LBR(2 * in_channels, out_channels), LBR(out_channels, out_channels))

    def forward(self, xyz: torch.Tensor, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """xyz (B, N, 3), feats (B, N, C_in) -> centres (B, M, 3), features (B, M, C_out)."""
        n = xyz.shape[1]
        if self.num_points is not None and self.num_points > n:
            raise ValueError(f"SampleAndGroup: cannot sample {self.num_points} centres from {n} points; "
                             f"feed at least {self.num_points} points or lower neighbor_embed.num_points")
        with torch.no_grad():
            if self.num_points is None or self.num_points == n:
                centres_idx = None
                new_xyz = xyz
            else:
                centres_idx = farthest_point_sample(xyz.detach(), self.num_points)
                new_xyz = gather_points(xyz, centres_idx)
            _, nbr_idx = knn(new_xyz.detach(), xyz.detach(), self.k)  # (B, M, k)
        centre = feats if centres_idx is None else gather_points(feats, centres_idx)  # (B, M, C)
        grouped = gather_points(feats, nbr_idx) - centre[:, :, None]  # (B, M, k, C)
        grouped = torch.cat([grouped, centre[:, :, None].expand_as(grouped)], dim=-1)
        return new_xyz, self.mlp(grouped).max(dim=2).values  # max: cheaper backward than amax
