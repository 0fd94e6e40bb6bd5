"""What each task exports: the network a deployment runs, its inputs, their names and dynamic axes.

* Classification (mmpretrain's ``ImageClassifier``) and point-cloud classification: the preprocessed batch
  ``inputs`` -> logits (B, K).
* Semantic segmentation (mmseg's ``EncoderDecoder``): ``inputs`` (B, 3, H, W) -> the decode head's logits resized
  to the input size, as ``mmseg.apis.inference_model`` resizes them (bilinear, the head's ``align_corners``):
  ``output='logits'`` (B, K, H, W) or ``'labels'`` (B, H, W) int64. Height and width are dynamic where the network
  allows any input size (a ResNet backbone); a MixerViT's file is specialised to the export size (its position
  table is resized in Python).
* Part segmentation (``PointCloudModel`` with ``PointPartSegHead``): ``inputs`` (B, N, C) and ``category`` (B,)
  int64 -> per-point part logits (B, N, P), the parts outside each cloud's category at ``-inf`` when the dataset
  names them (``category_parts``), so that an arg-max gives the restricted prediction of the standard evaluation.
* Detection (mmdet's detectors: a ``neck`` and a ``bbox_head`` or ``roi_head``): the backbone and the neck, ``inputs``
  (B, 3, H, W) -> the feature pyramid, one (B, C, H / s, W / s) output per level (ViTDet's simple feature pyramid,
  Li et al. 2022); the heads' decoding and NMS stay in Python (mmdet's own post-processing).
* Generation (a model with a ``sampler`` network and a ``noise_dim``: the zoo's ``ConditionalGAN``): ``noise``
  (B, Z) and ``label`` (B,) int64 -> images (B, C, H, W) in [-1, 1], from the sampler (the generator's EMA when the
  model keeps one).

Every input's first axis (the batch) is dynamic (:func:`backbones.deploy.export.export`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ExportSpec:
    """A network to export and what it takes."""

    net: nn.Module
    names: tuple[str, ...] = ("inputs",)
    dynamic: dict[str, dict[int, str]] = field(default_factory=dict)
    description: str = "logits"


class Logits(nn.Module):
    """``model(inputs, mode='tensor')`` as one tensor (the last of a tuple): classifier logits."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Preprocessed inputs -> logits."""
        out = self.model(inputs, mode="tensor")
        while isinstance(out, (tuple, list)):
            out = out[-1]
        return out


class SegmentationOutput(nn.Module):
    """mmseg's segmentor at the input size: (B, 3, H, W) -> logits (B, K, H, W) or labels (B, H, W)."""

    def __init__(self, model: nn.Module, output: str = "logits") -> None:
        super().__init__()
        if output not in ("logits", "labels"):
            raise ValueError(f"segmentation export output must be 'logits' or 'labels', got {output!r}")
        self.model, self.labels = model, output == "labels"
        self.align_corners = bool(model.decode_head.align_corners)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Preprocessed images -> per-pixel logits or labels at their size."""
        logits = self.model(inputs, mode="tensor")
        logits = F.interpolate(logits, size=inputs.shape[2:], mode="bilinear", align_corners=self.align_corners)
        return logits.argmax(dim=1) if self.labels else logits


class PartSegmentation(nn.Module):
    """Points (B, N, C) and categories (B,) -> part logits (B, N, P), parts outside the category at ``-inf``."""

    def __init__(self, model: nn.Module, category_parts: list[list[int]] | None = None) -> None:
        super().__init__()
        self.backbone, self.head = model.backbone, model.head
        p, c = self.head.num_parts, self.head.num_categories
        mask = torch.zeros(c, p)
        if category_parts is not None:
            mask.fill_(float("-inf"))
            for cat, parts in enumerate(category_parts):
                mask[cat, parts] = 0.0
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, inputs: torch.Tensor, category: torch.Tensor) -> torch.Tensor:
        """Part logits of every point given its cloud's category."""
        return self.head.logits(self.backbone(inputs), category) + self.mask[category][:, None]


class GeneratorOutput(nn.Module):
    """A generative model's sampler: noise (B, Z) and labels (B,) -> images (B, C, H, W) in [-1, 1]."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.sampler = model.sampler

    def forward(self, noise: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Class-conditional samples."""
        return self.sampler(noise, label)


class FeaturePyramid(nn.Module):
    """A detector's backbone and neck: preprocessed inputs (B, 3, H, W) -> the pyramid's levels, finest first."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(B, 3, H, W) -> (B, C, H / s, W / s) per level."""
        return tuple(self.model.extract_feat(inputs))


def export_spec(model: nn.Module, dataset_meta: dict | None = None, output: str = "logits") -> ExportSpec:
    """The network to export for ``model`` (a config's model, plain or converted) and its inputs' names and axes.

    Args:
        model: mmpretrain's classifier, mmseg's segmentor, mmdet's detector or the zoo's point-cloud model.
        dataset_meta: the test set's meta information (part segmentation: ``classes`` and ``category_parts``).
        output: segmentation only, ``'logits'`` or ``'labels'``.
    """
    from backbones.pointcloud.heads import PointPartSegHead

    head = getattr(model, "head", None)
    if isinstance(head, PointPartSegHead):
        meta = dataset_meta or {}
        table = meta.get("category_parts")
        parts = [table[name] for name in meta["classes"]] if table and meta.get("classes") else None
        return ExportSpec(PartSegmentation(model, parts), ("inputs", "category"),
                          description="part logits (parts outside the category: -inf)")
    if hasattr(model, "sampler") and hasattr(model, "noise_dim"):
        return ExportSpec(GeneratorOutput(model), ("noise", "label"), description="images in [-1, 1]")
    if hasattr(model, "decode_head"):  # torch.export keeps height and width dynamic where the network allows
        return ExportSpec(SegmentationOutput(model, output), dynamic={"inputs": {2: "height", 3: "width"}},
                          description=f"{output} at the input size")
    if hasattr(model, "neck") and (hasattr(model, "bbox_head") or hasattr(model, "roi_head")):
        return ExportSpec(FeaturePyramid(model), description="the feature pyramid (backbone and neck)")
    return ExportSpec(Logits(model))


def example_inputs(spec: ExportSpec, batch: dict, model: nn.Module) -> tuple[torch.Tensor, ...]:
    """The export inputs of a data batch (``pseudo_collate`` of dataset samples) through the model's preprocessor."""
    data = model.data_preprocessor(batch, False)
    if spec.names == ("noise", "label"):  # one fixed noise draw per sample (seeded by its index), the samples' labels
        labels = model.labels_of(data["data_samples"], torch.device("cpu"))
        return model.noise(len(labels), labels.device, seeds=list(range(len(labels)))), labels
    if spec.names == ("inputs", "category"):
        category = torch.as_tensor([int(s.category) for s in data["data_samples"]], dtype=torch.long)
        return data["inputs"], category
    return (data["inputs"],)
