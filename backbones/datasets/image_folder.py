"""A class-per-folder image dataset that checks its input and names the offending path.

mmpretrain's ``CustomDataset`` reads the same layouts (``data_root/<prefix>/<class>/<image>`` or an
annotation file of ``path label`` lines) but a missing folder, a sub-folder outside the class list or
a label beyond the classes only fail later, far from the cause (an index error in the loss, for
example). This subclass checks them while loading the list and fails with the path and the value.
A sample whose pipeline fails (an empty or unreadable image file, for example) raises an error naming
the image file and its size.

Importing this module imports mmpretrain; configs that use it add ``'backbones.datasets'`` to
``custom_imports``.
"""
from __future__ import annotations

import os
import os.path as osp

from mmengine.registry import DATASETS
from mmpretrain.datasets import CustomDataset


class ImageFileError(ValueError):
    """An image file of the dataset cannot be loaded (empty, truncated, not an image); names the file."""


@DATASETS.register_module()
class ImageFolderDataset(CustomDataset):
    """mmpretrain's ``CustomDataset`` with checked input.

    Missing or empty folders, class sub-folders outside ``classes`` and labels outside the class list
    raise errors naming the folder, file and sample; a sample the pipeline cannot load (e.g. a zero-byte
    PNG, on which OpenCV only reports ``!buf.empty()``) raises :class:`ImageFileError` naming the file.
    Arguments are those of ``CustomDataset``.
    """

    def prepare_data(self, idx: int) -> dict:
        """The pipeline's output for sample ``idx``; a failure names the image file."""
        try:
            return super().prepare_data(idx)
        except Exception as e:
            path = self.get_data_info(idx).get("img_path")
            size = f"{os.path.getsize(path)} bytes" if path and osp.isfile(path) else "missing"
            raise ImageFileError(f"{path} ({size}): sample {idx} cannot be loaded: {type(e).__name__}: "
                                 f"{str(e).strip()}") from e

    def load_data_list(self) -> list[dict]:
        """The checked list of ``dict(img_path, gt_label)``."""
        folder = self.img_prefix
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(f"annotation file {self.ann_file} does not exist")
        elif not osp.isdir(folder):
            raise FileNotFoundError(f"image folder {folder} does not exist (check data_root / data_prefix)")
        elif self.with_label and self.CLASSES is not None:
            unknown = sorted(d for d in os.listdir(folder) if osp.isdir(osp.join(folder, d)) and d not in self.CLASSES)
            if unknown:
                raise ValueError(f"{folder}: sub-folders {unknown} are not in the class list {list(self.CLASSES)}")
        try:
            data_list = super().load_data_list()
        except RuntimeError as e:
            raise ValueError(f"{folder}: no images found ({e})") from e
        if self.with_label and self.CLASSES is not None:
            n = len(self.CLASSES)
            for i, info in enumerate(data_list):
                if not 0 <= info["gt_label"] < n:
                    raise ValueError(f"{self.ann_file or folder}: sample {i} ({info['img_path']}) has label "
                                     f"{info['gt_label']}, outside the class list 0..{n - 1}")
        return data_list
