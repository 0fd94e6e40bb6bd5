"""Object detection and instance segmentation on mmdetection with plain backbones (ViTDet, Li et al. 2022).

Importing :mod:`backbones` (``custom_imports=dict(imports=['backbones'])``) registers ViTDet's simple feature pyramid
``SimpleFeaturePyramid`` and its ``LayerNorm2d`` in mmengine's root ``MODELS``, which mmdet's registry searches. The
backbone needs nothing here: ``MixerViT(out_type='featmap', with_cls_token=False)`` gives the (B, C, H/16, W/16) map
of a patch-16 model (window attention: ``MixerViT(window_size=..., global_blocks=...)``).
"""
from backbones.detection.layers import LayerNorm2d
from backbones.detection.neck import SimpleFeaturePyramid

__all__ = ["LayerNorm2d", "SimpleFeaturePyramid"]
