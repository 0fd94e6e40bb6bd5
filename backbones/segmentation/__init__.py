"""Semantic segmentation on mmsegmentation: EANet's External-attention head and checked scene data.

Importing :mod:`backbones` (``custom_imports=dict(imports=['backbones'])``) registers
``EAHead`` in mmengine's root ``MODELS`` and ``CheckedSegDataset``, ``DigitScenesDataset`` and the
``CheckSegLabels`` transform in the root ``DATASETS`` / ``TRANSFORMS``. The mixer backbones need
nothing here: ``MixerViT(out_type='featmap', out_indices=...)`` is already an mmseg encoder.
"""
from backbones.segmentation.datasets import CheckedSegDataset, CheckSegLabels, DigitScenesDataset
from backbones.segmentation.ea_head import EAHead

__all__ = ["EAHead", "CheckedSegDataset", "CheckSegLabels", "DigitScenesDataset"]
