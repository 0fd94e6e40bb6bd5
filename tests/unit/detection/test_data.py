"""The bundled digit-detection set (COCO format): deterministic, its file round-trips through pycocotools (boxes,
areas and masks agree with the images' digits), COCO evaluation of the ground truth as predictions gives 1.0, and
mmdet's CocoDataset reads it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backbones.bundled.digit_detection import CLASSES, prepare


@pytest.fixture(scope="module")
def det_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare(tmp_path_factory.mktemp("data") / "digit_detection", n_train=6, n_val=8)


def test_layout_counts_and_determinism(det_set: Path, tmp_path: Path) -> None:
    info = json.loads((det_set / "dataset.json").read_text())
    assert info["classes"] == list(CLASSES)
    for split, n in (("train", 6), ("val", 8)):
        coco = json.loads((det_set / "annotations" / f"instances_{split}.json").read_text())
        assert len(coco["images"]) == n == info["counts"][split]["images"]
        assert len(coco["annotations"]) == info["counts"][split]["instances"]
        per_image = np.bincount([a["image_id"] for a in coco["annotations"]], minlength=n)
        assert per_image.min() >= 2 and per_image.max() <= 5
        for img in coco["images"]:
            assert 128 <= img["height"] <= 192 and 128 <= img["width"] <= 192
            assert (det_set / "images" / img["file_name"]).is_file()
    again = prepare(tmp_path / "again", n_train=6, n_val=8)
    assert json.loads((again / "dataset.json").read_text())["sha256"] == info["sha256"]


def test_coco_round_trip_boxes_areas_masks(det_set: Path) -> None:
    """pycocotools decodes every mask; its area and tight box are the annotation's; the masks do not overlap and
    lie on bright ink in the image."""
    from PIL import Image
    from pycocotools.coco import COCO

    coco = COCO(str(det_set / "annotations" / "instances_val.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == list(CLASSES)
    for img_id in coco.getImgIds():
        meta = coco.loadImgs(img_id)[0]
        image = np.asarray(Image.open(det_set / "images" / meta["file_name"]).convert("L"), dtype=np.float32)
        assert image.shape == (meta["height"], meta["width"])
        cover = np.zeros(image.shape, np.int32)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img_id)):
            mask = coco.annToMask(ann)
            assert mask.shape == image.shape and mask.sum() == ann["area"] > 0
            ys, xs = np.nonzero(mask)
            assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
            assert image[mask > 0].mean() > image[mask == 0].mean() + 40  # the digit's ink
            cover += mask
        assert cover.max() == 1


def test_ground_truth_as_predictions_scores_one(det_set: Path) -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = COCO(str(det_set / "annotations" / "instances_val.json"))
    preds = [dict(image_id=a["image_id"], category_id=a["category_id"], bbox=a["bbox"], segmentation=a["segmentation"],
                  score=1.0) for a in gt.loadAnns(gt.getAnnIds())]
    for kind in ("bbox", "segm"):
        ev = COCOeval(gt, gt.loadRes(preds), kind)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        assert ev.stats[0] == pytest.approx(1.0) and ev.stats[1] == pytest.approx(1.0), kind
    wrong = [dict(p, category_id=p["category_id"] % 10 + 1) for p in preds]  # every class shifted: nothing right
    ev = COCOeval(gt, gt.loadRes(wrong), "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[1] == pytest.approx(0.0)


def test_mmdet_coco_dataset_reads_it(det_set: Path) -> None:
    import mmdet.datasets  # noqa: F401
    from mmdet.registry import DATASETS
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope("mmdet"):
        ds = DATASETS.build(dict(
            type="CocoDataset", data_root=str(det_set) + "/", metainfo=dict(classes=CLASSES),
            ann_file="annotations/instances_val.json", data_prefix=dict(img="images/"), test_mode=True,
            pipeline=[dict(type="LoadImageFromFile"), dict(type="LoadAnnotations", with_bbox=True, with_mask=True),
                      dict(type="PackDetInputs")]))
        sample = ds[0]
    gt = sample["data_samples"].gt_instances
    assert len(gt) >= 2 and gt.masks.masks.shape[1:] == tuple(sample["inputs"].shape[1:])
    assert int(gt.labels.max()) <= 9


def test_prepare_refuses_bad_sizes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="min_size=200, max_size=150"):
        prepare(tmp_path / "x", min_size=200, max_size=150)
    assert not (tmp_path / "x").exists()
