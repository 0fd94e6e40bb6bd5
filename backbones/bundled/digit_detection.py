"""Compose scikit-learn's handwritten digits into a detection and instance-segmentation set in COCO format.

Usage:
    backbones-prepare-data digit-detection OUT_DIR [--min-size 128] [--max-size 192] [--train 4800] [--val 300]
        [--seed 0]

Each image is an RGB canvas of random height and width in [MIN_SIZE, MAX_SIZE] (not multiples of a stride: the
detectors' data preprocessor pads): a smooth dark background with pixel noise and two to five real 8x8 digit scans
(UCI optical digits, bundled with scikit-learn: no network), each upsampled bilinearly to a random height in
[16, 56] px and a width of 0.75-1.1 times it, in a random bright colour, at a random place where its box overlaps no
other digit's. A digit's instance mask is where its ink is at least half its maximum; its COCO box is the mask's
tight box and its area the mask's pixel count (both from pycocotools, masks stored as compressed RLE). Train images
use only the digits of the train split of ``tools/data/prepare_digits.py`` and val images only those of its val
split. Output:

    OUT_DIR/images/{train,val}/00000.png   OUT_DIR/annotations/instances_{train,val}.json   OUT_DIR/dataset.json

Categories 1..10 are named '0'..'9'. Deterministic (same bytes every time; the digest is in dataset.json). The
folder is built beside OUT_DIR and renamed into place; an existing complete one with the same settings is kept.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from backbones.bundled.digit_scenes import background, digit_ink, free_corner, paint
from backbones.bundled.digits import split_indices

CLASSES = tuple(str(d) for d in range(10))
DIGITS_PER_IMAGE = (2, 5)
DIGIT_HEIGHT = (16, 56)


def compose(rng: np.random.Generator, scans: np.ndarray, labels: np.ndarray, min_size: int,
            max_size: int) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
    """One image from the digit ``scans`` (M, 8, 8) with values 0..16 and their ``labels`` (M,).

    Returns:
        The image (H, W, 3) uint8 and its instances as (digit 0..9, binary mask (H, W) uint8).
    """
    height, width = (int(v) for v in rng.integers(min_size, max_size + 1, size=2))
    img = background(rng, height, width)
    boxes: list[tuple[int, int, int, int]] = []
    instances = []
    for _ in range(int(rng.integers(DIGITS_PER_IMAGE[0], DIGITS_PER_IMAGE[1] + 1))):
        h = int(rng.integers(DIGIT_HEIGHT[0], DIGIT_HEIGHT[1] + 1))
        w = max(8, int(round(h * rng.uniform(0.75, 1.1))))
        corner = free_corner(rng, boxes, h, w, height, width)
        if corner is None:
            continue
        i = int(rng.integers(len(scans)))
        ink = digit_ink(scans[i], h, w)
        colour = rng.uniform(150, 255, size=3)
        y, x = corner
        paint(img, ink, y, x, colour)
        mask = np.zeros((height, width), np.uint8)
        mask[y:y + h, x:x + w] = ink >= 0.5 * ink.max()
        boxes.append((y, x, h, w))
        instances.append((int(labels[i]), mask))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), instances


def coco_annotation(mask: np.ndarray, ann_id: int, image_id: int, category_id: int) -> dict:
    """A COCO instance annotation for a binary mask (H, W): compressed RLE, the mask's tight box [x, y, w, h] and
    pixel area, as pycocotools computes them."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask))
    box = [float(v) for v in mask_utils.toBbox(rle)]
    rle["counts"] = rle["counts"].decode("ascii")
    return dict(id=ann_id, image_id=image_id, category_id=category_id, segmentation=rle,
                area=float(mask_utils.area(mask_utils.encode(np.asfortranarray(mask)))), bbox=box, iscrowd=0)


def prepare(out_dir: str | Path, min_size: int = 128, max_size: int = 192, n_train: int = 4800, n_val: int = 300,
            seed: int = 0) -> Path:
    """Build the detection set in ``out_dir`` (skipped if a complete one with the same settings exists).

    Raises:
        ValueError: ``min_size`` below 64, above ``max_size``, or a split size below 1.
    """
    from backbones.bundled import build_folder

    if not 64 <= min_size <= max_size:
        raise ValueError(f"digit detection: need 64 <= min_size <= max_size, got min_size={min_size}, "
                         f"max_size={max_size}")
    if n_train < 1 or n_val < 1:
        raise ValueError(f"digit detection: train and val need at least one image, got {n_train} and {n_val}")

    def write(tmp: Path, digest: hashlib._Hash) -> dict:
        from sklearn.datasets import load_digits

        digits = load_digits()
        splits = dict(zip(("train", "val"), split_indices(digits.target, 0.2, seed)))
        counts = {}
        (tmp / "annotations").mkdir(parents=True)
        for split, count in (("train", n_train), ("val", n_val)):
            rng = np.random.default_rng([seed, 0 if split == "train" else 1])
            idx = splits[split]
            (tmp / "images" / split).mkdir(parents=True)
            images, annotations = [], []
            for k in range(count):
                img, instances = compose(rng, digits.images[idx], digits.target[idx], min_size, max_size)
                name = f"{split}/{k:05d}.png"
                Image.fromarray(img).save(tmp / "images" / name, format="PNG", optimize=False)
                digest.update((tmp / "images" / name).read_bytes())
                images.append(dict(id=k, file_name=name, height=img.shape[0], width=img.shape[1]))
                for digit, mask in instances:
                    annotations.append(coco_annotation(mask, len(annotations) + 1, k, digit + 1))
            coco = dict(images=images, annotations=annotations,
                        categories=[dict(id=d + 1, name=name) for d, name in enumerate(CLASSES)])
            path = tmp / "annotations" / f"instances_{split}.json"
            path.write_text(json.dumps(coco))
            digest.update(path.read_bytes())
            counts[split] = dict(images=count, instances=len(annotations))
        return dict(classes=list(CLASSES), counts=counts,
                    source="sklearn.datasets.load_digits (UCI optical recognition of handwritten digits)")

    settings = dict(min_size=min_size, max_size=max_size, train=n_train, val=n_val, seed=seed, version=1)
    return build_folder(Path(out_dir), settings, write)
