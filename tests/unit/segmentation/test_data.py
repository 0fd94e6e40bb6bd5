"""Digit scenes and checked segmentation data: deterministic preparation, the error cases, and a short
train + test through the shared tools/train.py and tools/test.py (mIoU, --out, --show-dir PNG overlays)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:  # noqa: ANN001
    """A tiny digit-scenes set: 24 train / 8 val scenes of 64x64."""
    from backbones.bundled.digit_scenes import prepare

    return prepare(tmp_path_factory.mktemp("seg") / "digit_scenes", n_train=24, n_val=8)


def dataset(root: Path, split: str = "train", **kw):  # noqa: ANN003, ANN201
    """The dataset as an mmseg config builds it: in mmseg's scope, transform names as mmseg's configs write them
    (a scoped name such as 'mmseg.LoadImageFromFile' is not found while mmseg is the default scope)."""
    import mmseg.datasets  # noqa: F401  (registers mmseg's transforms, whatever ran before in this process)
    from mmengine.registry import DefaultScope

    from backbones.segmentation import DigitScenesDataset

    pipeline = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations"), dict(type="CheckSegLabels")]
    with DefaultScope.overwrite_default_scope("mmseg"):
        return DigitScenesDataset(data_root=str(root), pipeline=pipeline, data_prefix=dict(
            img_path=f"img_dir/{split}", seg_map_path=f"ann_dir/{split}"), **kw)


def test_prepare_is_deterministic_and_labelled(tmp_path, scenes) -> None:  # noqa: ANN001
    from backbones.bundled.digit_scenes import prepare

    again = prepare(tmp_path / "again", n_train=24, n_val=8)
    a, b = (json.loads((p / "dataset.json").read_text()) for p in (scenes, again))
    assert a["sha256"] == b["sha256"]
    img = np.asarray(Image.open(scenes / "img_dir/train/00000.png"))
    seg = np.asarray(Image.open(scenes / "ann_dir/train/00000.png"))
    assert img.shape == (64, 64, 3) and seg.shape == (64, 64) and seg.max() <= 10 and (seg > 0).any()
    assert len(list((scenes / "ann_dir/val").glob("*.png"))) == 8
    ds = dataset(scenes)
    assert len(ds) == 24 and ds.metainfo["classes"][0] == "background" and len(ds.metainfo["classes"]) == 11
    assert ds[0]["gt_seg_map"].shape == (64, 64)


def broken_copy(scenes: Path, tmp_path: Path) -> Path:
    root = tmp_path / "broken"
    shutil.copytree(scenes, root)
    return root


def test_image_without_label_map_is_named(scenes, tmp_path) -> None:  # noqa: ANN001
    root = broken_copy(scenes, tmp_path)
    (root / "ann_dir/train/00003.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 image\(s\) without a label map: .*img_dir/train/00003.png "
                                                r"\(expected .*ann_dir/train/00003.png\)"):
        dataset(root)


def test_label_map_of_another_size_is_named(scenes, tmp_path) -> None:  # noqa: ANN001
    root = broken_copy(scenes, tmp_path)
    Image.fromarray(np.zeros((60, 64), np.uint8)).save(root / "ann_dir/train/00001.png")
    ds = dataset(root)
    with pytest.raises(ValueError, match=r"ann_dir/train/00001.png of image .*img_dir/train/00001.png: label map "
                                         r"is 60x64 \(HxW\) but the image is 64x64"):
        ds[1]


def test_label_outside_the_class_list_is_named(scenes, tmp_path) -> None:  # noqa: ANN001
    root = broken_copy(scenes, tmp_path)
    seg = np.asarray(Image.open(root / "ann_dir/train/00002.png")).copy()
    seg[0, 0], seg[0, 1] = 11, 255  # 255 is the ignore index: allowed
    Image.fromarray(seg).save(root / "ann_dir/train/00002.png")
    ds = dataset(root)
    with pytest.raises(ValueError, match=r"ann_dir/train/00002.png .*label values \[11\] are outside the 11 "
                                         r"classes \(0..10; ignore index 255\)"):
        ds[2]
    seg[0, 0] = 0
    Image.fromarray(seg).save(root / "ann_dir/train/00002.png")
    assert ds[2]["gt_seg_map"][0, 1] == 255


def test_missing_image_folder_is_named(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(FileNotFoundError, match=r"image folder .*nowhere/img_dir/train does not exist"):
        dataset(tmp_path / "nowhere")


def test_label_check_lets_images_without_labels_through() -> None:
    """Inference pipelines carry no label map (mmseg's inferencers drop LoadAnnotations): nothing to check there."""
    from backbones.segmentation import CheckSegLabels

    image = {"img": np.zeros((4, 4, 3), np.uint8), "img_path": "x.png"}
    assert CheckSegLabels(num_classes=2)(dict(image)) == image
    with pytest.raises(ValueError, match=r"label values \[5\] are outside the 2 classes"):
        CheckSegLabels(num_classes=2)({**image, "gt_seg_map": np.full((4, 4), 5, np.uint8)})
