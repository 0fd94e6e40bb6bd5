"""Task heads on :class:`~backbones.pointcloud.backbone.PointMixerBackbone` features (PCT's heads).

Both take the backbone's ``(tokens (B, M, F), global_feat (B, 2F), token_xyz (B, M, 3))`` and the
batch's data samples (:class:`mmengine.structures.BaseDataElement`), and offer ``loss`` (a dict of
losses) and ``predict`` (the samples with predictions written in).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import MODELS
from mmengine.structures import BaseDataElement

from backbones.pointcloud.layers import LBR

Feats = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def _mlp(in_channels: int, hidden: Sequence[int], out_channels: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [LBR(in_channels, h, act="leaky"), nn.Dropout(dropout)]
        in_channels = h
    return nn.Sequential(*layers, nn.Linear(in_channels, out_channels))


@MODELS.register_module()
class PointClsHead(nn.Module):
    """Classification from the global feature: LBR(512) - dropout - LBR(256) - dropout - Linear (PCT).

    Args:
        in_channels: global feature width (2 x the backbone's fuse_channels).
        num_classes: K.
        hidden: hidden widths.
        dropout: dropout after each hidden layer (0.5 in PCT).
        label_smoothing: cross-entropy label smoothing (PCT trains with 0.2).
    """

    #: the input is the global feature [max, mean]: twice the backbone's token width.
    in_channels_factor = 2

    def __init__(self, in_channels: int, num_classes: int, hidden: Sequence[int] = (512, 256),
                 dropout: float = 0.5, label_smoothing: float = 0.2) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.mlp = _mlp(in_channels, hidden, num_classes, dropout)
        self.label_smoothing = label_smoothing

    def forward(self, feats: Feats, data_samples: Sequence[BaseDataElement] | None = None) -> torch.Tensor:
        """-> logits (B, K)."""
        return self.mlp(feats[1])

    def loss(self, feats: Feats, data_samples: Sequence[BaseDataElement]) -> dict[str, torch.Tensor]:
        """Cross-entropy against ``gt_label``."""
        logits = self(feats)
        target = torch.stack([torch.as_tensor(s.gt_label).reshape(()) for s in data_samples]).to(logits.device)
        return dict(loss=F.cross_entropy(logits, target, label_smoothing=self.label_smoothing))

    def predict(self, feats: Feats, data_samples: Sequence[BaseDataElement]) -> list[BaseDataElement]:
        """Writes ``pred_score`` (K,) and ``pred_label`` into each sample."""
        scores = self(feats).softmax(-1).detach().cpu()
        for s, score in zip(data_samples, scores):
            s.set_field(score, "pred_score")
            s.set_field(score.argmax(), "pred_label")
        return list(data_samples)


@MODELS.register_module()
class PointPartSegHead(nn.Module):
    """Per-point part segmentation with the object category as a one-hot input (PCT).

    ``category one-hot -> LBR(label_channels)``; per point ``[token, global max, global mean,
    category]`` -> LBR(512) - dropout - LBR(256) - Linear(num_parts). Predictions are restricted to
    the parts of the sample's category (``data_sample.parts``), as in the standard evaluation.

    Args:
        in_channels: token width F (the backbone's fuse_channels).
        num_parts: P, over all categories.
        num_categories: object categories (one-hot size).
        label_channels: width of the embedded category (64 in PCT).
        hidden: hidden widths.
        dropout: dropout after the first hidden layer.
        label_smoothing: cross-entropy label smoothing.
    """

    def __init__(self, in_channels: int, num_parts: int, num_categories: int, label_channels: int = 64,
                 hidden: Sequence[int] = (512, 256), dropout: float = 0.5, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.num_parts, self.num_categories = num_parts, num_categories
        self.label_embed = LBR(num_categories, label_channels, act="leaky")
        self.mlp = _mlp(3 * in_channels + label_channels, hidden, num_parts, dropout)
        self.label_smoothing = label_smoothing

    def forward(self, feats: Feats, data_samples: Sequence[BaseDataElement]) -> torch.Tensor:
        """-> part logits (B, M, P) for the M tokens (one per input point), given each sample's ``category``."""
        category = torch.as_tensor([int(s.category) for s in data_samples], device=feats[0].device)
        if (category < 0).any() or (category >= self.num_categories).any():
            raise ValueError(f"PointPartSegHead: category ids {category.tolist()} outside 0..{self.num_categories - 1}")
        return self.logits(feats, category)

    def logits(self, feats: Feats, category: torch.Tensor) -> torch.Tensor:
        """Part logits (B, M, P) of the backbone's features given the categories (B,) int64 (the exported form)."""
        tokens, glob = feats[0], feats[1]
        b, m, _ = tokens.shape
        label = self.label_embed(F.one_hot(category, self.num_categories).to(tokens.dtype))  # (B, L)
        per_shape = torch.cat([glob, label], dim=-1)[:, None].expand(b, m, -1)
        return self.mlp(torch.cat([tokens, per_shape], dim=-1))

    def _check_points(self, logits: torch.Tensor, data_samples: Sequence[BaseDataElement]) -> None:
        n = int(data_samples[0].num_points) if "num_points" in data_samples[0] else logits.shape[1]
        if logits.shape[1] != n:
            raise ValueError(f"PointPartSegHead needs one token per input point: got {logits.shape[1]} tokens for "
                             f"{n} points; set every neighbor_embed num_points to None for part segmentation")

    def loss(self, feats: Feats, data_samples: Sequence[BaseDataElement]) -> dict[str, torch.Tensor]:
        """Cross-entropy over every point against ``gt_parts`` (N,)."""
        logits = self(feats, data_samples)
        self._check_points(logits, data_samples)
        target = torch.stack([torch.as_tensor(s.gt_parts) for s in data_samples]).to(logits.device)
        return dict(loss=F.cross_entropy(logits.flatten(0, 1), target.flatten(), label_smoothing=self.label_smoothing))

    def predict(self, feats: Feats, data_samples: Sequence[BaseDataElement]) -> list[BaseDataElement]:
        """Writes ``pred_parts`` (N,), the arg-max over the parts of the sample's category."""
        logits = self(feats, data_samples).detach()
        self._check_points(logits, data_samples)
        mask = torch.full((len(data_samples), self.num_parts), float("-inf"), device=logits.device)
        for i, s in enumerate(data_samples):
            mask[i, torch.as_tensor(s.parts, device=logits.device)] = 0
        pred = (logits + mask[:, None]).argmax(-1).cpu()
        for s, p in zip(data_samples, pred):
            s.set_field(p, "pred_parts")
        return list(data_samples)
