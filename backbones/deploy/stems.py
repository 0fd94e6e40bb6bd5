"""Inference forms of the stems whose computation folds: DeepViT's CNN stem and EAMLP's T2T stem."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..mixers.external_attention import EATokenLayer, double_normalize
from ..stems import CNNStem, TokensToTokenStem, _conv_out, soft_split
from .branches import DeployModule, MlpBranch
from .fold import compose, fold_affine, fold_conv_bn


class DeployCNNStem(DeployModule):
    """:class:`CNNStem` with each BatchNorm folded into the convolution before it."""

    def __init__(self, stem: CNNStem) -> None:
        super().__init__()
        self.conv1 = fold_conv_bn(stem.conv1, stem.bn1)
        self.conv2 = fold_conv_bn(stem.conv2, stem.bn2)
        self.proj = stem.proj.requires_grad_(False)
        self.step = stem.step

    def grid_size(self, img_size: tuple[int, int]) -> tuple[int, int]:
        """Token grid for an input of ``img_size`` (H, W)."""
        return tuple(_conv_out(s, 7, 2, 3) // self.step for s in img_size)  # type: ignore[return-value]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, 3, H, W) -> tokens (B, h*w, C), grid (h, w)."""
        x = self.proj(F.relu(self.conv2(F.relu(self.conv1(x)))))
        return x.flatten(2).transpose(1, 2), (x.shape[2], x.shape[3])


class DeployTokenLayer(DeployModule):
    """:class:`EATokenLayer`: ``q = q_linear(LN(x))`` (affine folded, input order applied once),
    ``y = q + M(DN(linear_0 q))`` with ``M = proj . linear_1`` as one Linear, then the MLP branch."""

    def __init__(self, layer: EATokenLayer, in_order: torch.Tensor | None = None) -> None:
        super().__init__()
        a, n1 = layer.attn, layer.norm1
        w, gamma, beta = a.q_linear.weight, n1.weight, n1.bias
        if in_order is not None:
            w, gamma, beta = w[:, in_order], gamma[in_order], beta[in_order]
        self.eps = n1.eps
        q_w, q_b = fold_affine(w, a.q_linear.bias, gamma, beta)
        out_w, out_b = compose((a.linear_1.weight, a.linear_1.bias), (a.proj.weight, a.proj.bias))
        self._buffers_from(q_w=q_w, q_b=q_b, mem_w=a.linear_0.weight, out_w=out_w, out_b=out_b)
        self.mlp = MlpBranch(layer.norm2, layer.mlp)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, in_dim) -> (B, N, dim)."""
        q = F.linear(F.layer_norm(x, x.shape[-1:], None, None, self.eps), self.q_w, self.q_b)
        attn = double_normalize(F.linear(q, self.mem_w), token_dim=1)
        return self.mlp(q + F.linear(attn, self.out_w, self.out_b))


class DeployT2TStem(DeployModule):
    """:class:`TokensToTokenStem` with folded token layers and the projection's permuted weight stored."""

    def __init__(self, stem: TokensToTokenStem) -> None:
        super().__init__()
        self.splits = stem.SPLITS
        self.attention1 = DeployTokenLayer(stem.attention1)
        self.attention2 = DeployTokenLayer(stem.attention2, stem.order1)
        self._buffers_from(project_w=stem.project.weight[:, stem.order2], project_b=stem.project.bias)

    def grids(self, img_size: tuple[int, int]) -> list[tuple[int, int]]:
        """The grid after each soft split, starting with the image size."""
        grids = [tuple(img_size)]
        for k, s, p in self.splits:
            grids.append(tuple(_conv_out(v, k, s, p) for v in grids[-1]))
        return grids  # type: ignore[return-value]

    def grid_size(self, img_size: tuple[int, int]) -> tuple[int, int]:
        """Token grid for an input of ``img_size`` (H, W)."""
        return self.grids(img_size)[-1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, 3, H, W) -> tokens (B, h*w, C), grid (h, w)."""
        grids = self.grids(x.shape[2:])
        b = x.shape[0]
        t = self.attention1(soft_split(x, *self.splits[0]))
        t = self.attention2(soft_split(t.view(b, *grids[1], -1), *self.splits[1], channels_last=True))
        t = soft_split(t.view(b, *grids[2], -1), *self.splits[2], channels_last=True)
        return F.linear(t, self.project_w, self.project_b), grids[3]


STEMS: dict[type, type[nn.Module]] = {CNNStem: DeployCNNStem, TokensToTokenStem: DeployT2TStem}
