"""Checked segmentation data: every image has its label map, of the image's size, with known labels.

* :class:`CheckedSegDataset` - mmseg's ``img_dir/`` + ``ann_dir/`` layout (``BaseSegDataset``) that
  fails at start-up when an image has no label map, and hands its class count and ignore index to
  the pipeline.
* :class:`CheckSegLabels` - a transform placed right after ``LoadAnnotations``: a label map of another
  size than its image, or a label value outside the class list (other than the ignore index), fails
  with a message naming both files and the sizes or values. Without a label map (inference: mmseg's
  ``MMSegInferencer`` and ``inference_model`` drop ``LoadAnnotations`` from the pipeline) it passes
  the image through.
* :class:`DigitScenesDataset` - scenes composed from scikit-learn's handwritten digits
  (``tools/data/prepare_digit_scenes.py``): background + the ten digits.

All are registered in mmengine's root ``DATASETS`` / ``TRANSFORMS``, so mmseg configs find them.
"""
from __future__ import annotations

import os.path as osp

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.registry import DATASETS, TRANSFORMS
from mmseg.datasets import BaseSegDataset

#: how many offending files or values an error message lists.
_SHOWN = 5


@DATASETS.register_module()
class CheckedSegDataset(BaseSegDataset):
    """``BaseSegDataset`` that checks every image has its label map and passes the class count on.

    Each data entry also carries ``num_classes`` and ``ignore_index`` for :class:`CheckSegLabels`.
    Arguments are those of :class:`mmseg.datasets.BaseSegDataset`.

    Raises:
        FileNotFoundError: the image folder is missing or empty, or images have no label map (the
            message names the images and the label paths looked for).
    """

    def load_data_list(self) -> list[dict]:
        """The data entries (image and label paths), checked."""
        img_dir = self.data_prefix.get("img_path", "")
        if not self.ann_file and not osp.isdir(img_dir):
            raise FileNotFoundError(f"{type(self).__name__}: image folder {img_dir} does not exist")
        data_list = super().load_data_list()
        if not data_list:
            raise FileNotFoundError(f"{type(self).__name__}: no '*{self.img_suffix}' images in {img_dir}")
        if self.data_prefix.get("seg_map_path") is not None:
            missing = [d for d in data_list if not osp.isfile(d["seg_map_path"])]
            if missing:
                shown = "; ".join(f"{d['img_path']} (expected {d['seg_map_path']})" for d in missing[:_SHOWN])
                more = f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
                raise FileNotFoundError(f"{len(missing)} image(s) without a label map: {shown}{more}")
        for d in data_list:
            d["num_classes"] = len(self.metainfo["classes"])
            d["ignore_index"] = self.ignore_index
        return data_list


@TRANSFORMS.register_module()
class CheckSegLabels(BaseTransform):
    """Check a loaded label map against its image and the class list; place after ``LoadAnnotations``.

    Label checks belong where labels exist: results without ``gt_seg_map`` (an inference pipeline, from
    which mmseg removes ``LoadAnnotations``) pass unchanged.

    Args:
        num_classes: number of classes; ``None`` takes the dataset's (``results['num_classes']``).
        ignore_index: label value to accept besides ``0 .. num_classes - 1``; ``None`` takes the
            dataset's (``results['ignore_index']``, else 255).

    Raises:
        ValueError: the label map (H', W') differs from the image (H, W), or holds values outside the
            class list; the message names the files and the sizes or values.
    """

    def __init__(self, num_classes: int | None = None, ignore_index: int | None = None) -> None:
        self.num_classes, self.ignore_index = num_classes, ignore_index

    def transform(self, results: dict) -> dict:
        """Check ``results['gt_seg_map']`` (H, W) against ``results['img']`` (H, W, 3); returns results."""
        if "gt_seg_map" not in results:
            return results
        seg, img = results["gt_seg_map"], results["img"]
        where = f"label map {results.get('seg_map_path')} of image {results.get('img_path')}"
        if seg.shape[:2] != img.shape[:2]:
            raise ValueError(f"{where}: label map is {seg.shape[0]}x{seg.shape[1]} (HxW) but the image is "
                             f"{img.shape[0]}x{img.shape[1]}")
        n = self.num_classes if self.num_classes is not None else results.get("num_classes")
        if n is None:
            raise ValueError("CheckSegLabels needs num_classes (given, or from a CheckedSegDataset)")
        ignore = self.ignore_index if self.ignore_index is not None else results.get("ignore_index", 255)
        values = np.unique(seg)
        bad = values[(values >= n) & (values != ignore) | (values < 0)]
        if bad.size:
            raise ValueError(f"{where}: label values {bad[:_SHOWN].tolist()} are outside the {n} classes "
                             f"(0..{n - 1}; ignore index {ignore})")
        return results


@DATASETS.register_module()
class DigitScenesDataset(CheckedSegDataset):
    """Digit scenes (``tools/data/prepare_digit_scenes.py``): PNG images and label maps, 11 classes.

    Layout: ``data_root/img_dir/{train,val}/*.png`` and ``data_root/ann_dir/{train,val}/*.png``
    (label 0 background, k + 1 digit k). Arguments are those of :class:`CheckedSegDataset`.
    """

    METAINFO = dict(
        classes=("background", *(str(d) for d in range(10))),
        palette=[[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                 [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212]])

    def __init__(self, img_suffix: str = ".png", seg_map_suffix: str = ".png", **kwargs) -> None:  # noqa: ANN003
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)
