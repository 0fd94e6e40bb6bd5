"""Image classification on mmpretrain: the checked image-folder dataset and the model index.

``ImageFolderDataset`` is registered in mmengine's root ``DATASETS``; the classification models of
``.mim/configs/classification/metafile.yml`` are registered with mmpretrain's ``ModelHub`` when :mod:`backbones` is
imported (:func:`~backbones.classification.model_index.register_model_index`). The mixer backbones need nothing
more: ``MixerViT`` is an mmpretrain backbone.
"""
from backbones.classification.image_folder import ImageFolderDataset
from backbones.classification.model_index import register_model_index

__all__ = ["ImageFolderDataset", "register_model_index"]
