"""A class-per-folder image dataset that checks its input and names the offending path.

mmpretrain's ``CustomDataset`` reads the same layouts (``data_root/<prefix>/<class>/<image>`` or an
annotation file of ``path label`` lines) but a missing folder, a sub-folder outside the class list or
a label beyond the classes only fail later, far from the cause (an index error in the loss, for
example), and it numbers the classes of each split by that split's own sub-folders: train folders
{5, 7} and val folders {0, 5, 7} give 5 the label 0 in training and 1 in validation, silently. This
subclass takes one class list for every split - the config's ``classes``, else the sub-folders of the
``classes_from`` folder (the training folder), else its own sub-folders - labels every image by its
folder's position in that list, and fails with the paths and values when a split has a class folder
outside the list, when a class folder holds no image (an empty ``train/0_old`` would still take a label and
shift every class after it; the same rule for every split) or when there are fewer than two classes. A
sample whose pipeline fails (an empty or unreadable image file, for example) raises an error naming the
image file and its size; an image with transparent pixels is refused as every image loader of the zoo refuses it
(:func:`backbones.utils.folders.check_image_file`: OpenCV would drop the alpha channel silently).

Importing this module imports mmpretrain; configs that use it add ``'backbones.classification'`` to
``custom_imports``.
"""
from __future__ import annotations

import os
import os.path as osp

from mmengine.registry import DATASETS
from mmpretrain.datasets import CustomDataset
from mmpretrain.datasets.custom import get_samples

from backbones.utils.folders import ImageFileError, check_image_file, class_folders


@DATASETS.register_module()
class ImageFolderDataset(CustomDataset):
    """mmpretrain's ``CustomDataset`` with one class list for every split and checked input.

    Args:
        classes_from: a folder, relative to ``data_root``, whose sub-folders are the classes when the config
            gives no ``classes`` (the shipped configs: ``'train'`` for every split, so validation and test
            are labelled with the training classes). None: this split's own sub-folders.
        **kwargs: the arguments of ``CustomDataset`` (``data_root``, ``data_prefix``, ``classes``, ...).

    Missing or empty folders, class sub-folders outside the class list, fewer than two classes and labels
    outside the class list raise errors naming the folders, file and sample; a sample the pipeline cannot
    load (e.g. a zero-byte PNG, on which OpenCV only reports ``!buf.empty()``) raises
    :class:`ImageFileError` naming the file.
    """

    def __init__(self, *args, classes_from: str | None = None, **kwargs) -> None:  # noqa: ANN002, ANN003
        self.classes_from = classes_from
        super().__init__(*args, **kwargs)

    def prepare_data(self, idx: int) -> dict:
        """The pipeline's output for sample ``idx``; a failure names the image file."""
        path = self.get_data_info(idx).get("img_path")
        try:
            if path and osp.isfile(path):
                check_image_file(path)  # transparency refused (OpenCV drops alpha), as the GAN's loader does
            return super().prepare_data(idx)
        except Exception as e:
            size = f"{os.path.getsize(path)} bytes" if path and osp.isfile(path) else "missing"
            raise ImageFileError(f"{path} ({size}): sample {idx} cannot be loaded: {type(e).__name__}: "
                                 f"{str(e).strip()}") from e

    def class_list(self) -> tuple[list[str], str]:
        """The classes of every split and where they come from (the config, or a folder).

        Raises:
            ValueError: fewer than two classes.
        """
        if self.CLASSES is not None:
            classes, source = list(self.CLASSES), "the config's classes"
        else:
            folder = osp.join(self.data_root, self.classes_from) if self.classes_from else self.img_prefix
            classes, source = class_folders(folder), f"the sub-folders of {folder}"
            self._refuse_empty(folder, classes)
        if len(classes) < 2:
            raise ValueError(f"{source} give {len(classes)} class(es) {classes}: a classifier needs at least two "
                             f"(one sub-folder per class)")
        return classes, source

    def _refuse_empty(self, folder: str, classes: list[str]) -> None:
        """Raise ``ValueError`` naming the class folders of ``folder`` (a split) that hold no image."""
        empty = [osp.join(folder, c) for c in classes if not self._has_image(osp.join(folder, c))]
        if empty:
            split = osp.relpath(folder, self.data_root) if self.data_root else folder
            raise ValueError(f"split {split!r}: class folders {empty} hold no images (extensions "
                             f"{sorted(self.extensions)}); an empty class folder still takes a label and shifts the "
                             f"labels of the classes after it: remove it, or give it images")

    def _has_image(self, folder: str) -> bool:
        """Whether ``folder`` (or a folder below it) holds a file this dataset reads."""
        valid = self.is_valid_file or (lambda name: name.lower().endswith(tuple(self.extensions)))
        return any(valid(osp.join(root, f)) for root, _, files in os.walk(folder, followlinks=True) for f in files)

    def _find_samples(self) -> list:
        """``(path, label)`` of every image under the class sub-folders, labelled by :meth:`class_list`."""
        if not self.with_label:
            return super()._find_samples()
        folder = self.img_prefix
        classes, source = self.class_list()
        unknown = [d for d in class_folders(folder) if d not in classes]
        if unknown:
            raise ValueError(f"{folder}: class folders {unknown} are not among the {len(classes)} classes of "
                             f"{source} {classes}; every split must use the training classes")
        present = {d: classes.index(d) for d in class_folders(folder)}
        self._refuse_empty(folder, list(present))
        samples, empty = get_samples(folder, present, is_valid_file=self.is_valid_file)
        if not samples:
            raise ValueError(f"{folder}: no images found (extensions {sorted(self.extensions)})")
        self._metainfo["classes"] = tuple(classes)
        self.folder_to_idx = {c: i for i, c in enumerate(classes)}
        return samples

    def load_data_list(self) -> list[dict]:
        """The checked list of ``dict(img_path, gt_label)``."""
        if self.ann_file and not osp.isfile(self.ann_file):
            raise FileNotFoundError(f"annotation file {self.ann_file} does not exist")
        data_list = super().load_data_list()
        if self.with_label and self.CLASSES is not None:
            n = len(self.CLASSES)
            for i, info in enumerate(data_list):
                if not 0 <= info["gt_label"] < n:
                    raise ValueError(f"{self.ann_file or self.img_prefix}: sample {i} ({info['img_path']}) has label "
                                     f"{info['gt_label']}, outside the class list 0..{n - 1}")
        return data_list
