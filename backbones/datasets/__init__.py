"""Datasets of the zoo (registered in mmengine's root ``DATASETS``)."""
from .image_folder import ImageFolderDataset

__all__ = ["ImageFolderDataset"]
