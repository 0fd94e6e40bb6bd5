"""Stems: images (B, 3, H, W) -> tokens (B, h*w, C) and their grid (h, w).

* :class:`PatchStem` - ViT's non-overlapping patch convolution (Dosovitskiy et al. 2021).
* :class:`CNNStem` - DeepViT-S/L's convolutional stem (Zhou et al. 2021).
* :class:`TokensToTokenStem` - T2T-ViT's tokens-to-token stem (Yuan et al. 2021) with External attention token
  layers, as EAMLP uses it (Guo et al. 2021).

All stems are registered in mmengine's root ``MODELS`` and expose ``grid_size(img_size)``; a stem whose
computation folds defines its inference form (``to_deploy()``) in its own file.
"""
from backbones.models.stems.cnn import CNNStem, DeployCNNStem
from backbones.models.stems.patch import PatchStem, conv_out
from backbones.models.stems.t2t import DeployT2TStem, EATokenLayer, TokensToTokenStem, soft_split, unfold_order

__all__ = ["CNNStem", "DeployCNNStem", "DeployT2TStem", "EATokenLayer", "PatchStem", "TokensToTokenStem", "conv_out",
           "soft_split", "unfold_order"]
