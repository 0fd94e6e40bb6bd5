"""Semantic segmentation on mmsegmentation: EANet's External-attention head and checked scene data.

Importing this package (``custom_imports=dict(imports=['backbones', 'backbones.seg'])``) registers
``EAHead`` in mmengine's root ``MODELS`` and ``CheckedSegDataset``, ``DigitScenesDataset`` and the
``CheckSegLabels`` transform in the root ``DATASETS`` / ``TRANSFORMS``. The mixer backbones need
nothing here: ``MixerViT(out_type='featmap', out_indices=...)`` is already an mmseg encoder.
"""
from .datasets import CheckedSegDataset, CheckSegLabels, DigitScenesDataset
from .ea_head import EAHead

__all__ = ["EAHead", "CheckedSegDataset", "CheckSegLabels", "DigitScenesDataset"]
