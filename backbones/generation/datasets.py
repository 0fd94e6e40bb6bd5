"""A class-per-folder image set decoded once into memory, for GAN training and the generation metric.

Layout: ``data_root/<data_prefix>/<class>/<image>`` (e.g. the bundled digits, ``backbones/bundled/digits.py``:
``data/digits/{train,val}/<digit>/*.png``, 32x32 RGB). Every image is decoded as every image loader of the zoo
decodes it (:func:`backbones.utils.folders.decode_image`: 16-bit by the high byte, transparency refused, a file
that cannot be decoded named), converted to grayscale (``channels=1``) or RGB (``channels=3``), resized to
``size`` x ``size`` (bicubic) when it has another size and kept as a (C, H, W) uint8 tensor: the digits' 1,797
images take 1.8 MB, so loader workers are not needed.
"""
from __future__ import annotations

import os
import os.path as osp

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.registry import DATASETS
from mmengine.structures import BaseDataElement
from PIL import Image

from backbones.utils.folders import class_folders, decode_image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def read_image(path: str, channels: int, size: int) -> np.ndarray:
    """An image file -> (size, size, channels) uint8 array: :func:`~backbones.utils.folders.decode_image` (the
    decoding of every image loader of the zoo: 16-bit images by their high byte, transparency refused, a file that
    cannot be decoded named), then a bicubic resize if needed."""
    array = decode_image(path, channels)
    if array.shape[:2] != (size, size):
        img = Image.fromarray(array[:, :, 0] if channels == 1 else array)
        array = np.asarray(img.resize((size, size), Image.BICUBIC), dtype=np.uint8)
        array = array[:, :, None] if channels == 1 else array
    return array


@DATASETS.register_module()
class ImageFolderTensors(BaseDataset):
    """Labelled images of a class-per-folder split as (C, H, W) uint8 tensors.

    Args:
        data_root: the dataset folder.
        data_prefix: the split's folder inside it (``'train'``, ``'val'``).
        classes_from: the folder (inside ``data_root``) whose sub-folders are the classes, in sorted order, for
            every split (default: the split's own folder); a class folder of the split outside them is an error.
        size: images are resized to ``size`` x ``size``.
        channels: 1 (grayscale) or 3 (RGB).
        **kwargs: mmengine ``BaseDataset`` arguments (``indices``, ``serialize_data``, ...).

    Each sample is ``dict(inputs=(C, H, W) uint8, data_samples=BaseDataElement(gt_label=(), metainfo
    sample_idx, img_path))``.

    Raises:
        FileNotFoundError: the split folder does not exist.
        ValueError: a class folder outside the classes, a class folder without images, fewer than two classes, or
            ``channels`` not 1 or 3.
    """

    def __init__(self, data_root: str, data_prefix: str = "train", classes_from: str | None = None, size: int = 32,
                 channels: int = 3, **kwargs) -> None:  # noqa: ANN003
        if channels not in (1, 3):
            raise ValueError(f"ImageFolderTensors: channels must be 1 or 3, got {channels}")
        self.split, self.classes_from, self.size, self.channels = data_prefix, classes_from, size, channels
        kwargs.setdefault("pipeline", [])
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> list[dict]:
        """Read and decode every image of the split, labelled by its folder's position in the class list."""
        folder = osp.join(self.data_root, self.split)
        own = class_folders(folder)
        classes = class_folders(osp.join(self.data_root, self.classes_from)) if self.classes_from else own
        if len(classes) < 2:
            raise ValueError(f"{folder}: {len(classes)} class folder(s); a conditional GAN needs at least two")
        outside = sorted(set(own) - set(classes))
        if outside:
            raise ValueError(f"{folder}: class folders {outside} are not among the classes {classes}")
        self._metainfo["classes"] = tuple(classes)
        data_list = []
        for label, name in enumerate(classes):
            if name not in own:
                continue
            files = sorted(f for f in os.listdir(osp.join(folder, name)) if f.lower().endswith(IMAGE_SUFFIXES))
            if not files:
                raise ValueError(f"class folder {osp.join(folder, name)} holds no image")
            for f in files:
                path = osp.join(folder, name, f)
                data_list.append(dict(img=read_image(path, self.channels, self.size), gt_label=label, img_path=path))
        return data_list

    def prepare_data(self, idx: int) -> dict:
        """The sample of ``idx`` (any ``int``, e.g. a seed-tagged index)."""
        info = self.get_data_info(int(idx))
        sample = BaseDataElement(metainfo=dict(sample_idx=int(idx), img_path=info["img_path"]),
                                 gt_label=torch.tensor(info["gt_label"]))
        return dict(inputs=torch.from_numpy(np.ascontiguousarray(info["img"].transpose(2, 0, 1))), data_samples=sample)

    def all_images(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every image and label of the set: (N, C, H, W) uint8 and (N,) long."""
        infos = [self.get_data_info(i) for i in range(len(self))]
        images = torch.from_numpy(np.stack([i["img"] for i in infos]).transpose(0, 3, 1, 2).copy())
        return images, torch.tensor([i["gt_label"] for i in infos], dtype=torch.long)
