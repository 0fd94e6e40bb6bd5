"""Compose scikit-learn's handwritten digits into segmentation scenes (mmseg ``img_dir/`` + ``ann_dir/``).

Usage:
    backbones-prepare-data digit-scenes OUT_DIR [--size 64] [--train 2000] [--val 400] [--seed 0]

Each scene is a SIZE x SIZE RGB canvas: a smooth random background with pixel noise, and one to
three real 8x8 digit scans (UCI optical digits, bundled with scikit-learn: no network), each
upsampled bilinearly to a random side of SIZE * [0.3, 0.55] in a random bright colour at a random
position, never overlapping another digit's box. The label map (PNG, mode L) is 0 for background
and k + 1 where digit k's ink is at least half its maximum. Train scenes use only the digits of the
train split of ``tools/data/prepare_digits.py`` and val scenes only those of its val split, so no
digit scan is seen in both. Output:

    OUT_DIR/img_dir/{train,val}/00000.png   OUT_DIR/ann_dir/{train,val}/00000.png   OUT_DIR/dataset.json

Deterministic (same bytes every time; the digest is in dataset.json). The folder is built beside
OUT_DIR and renamed into place; an existing complete one with the same settings is kept.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from backbones.bundled.digits import split_indices

MAX_DIGITS = 3


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A dark, smoothly varying RGB background (height, width, 3), float in [0, 255], with pixel noise (the digit
    scenes' and the digit-detection set's canvas)."""
    coarse = rng.uniform(0, 90, size=(4, 4, 3)).astype(np.float32)
    smooth = np.stack([np.asarray(Image.fromarray(coarse[..., c], mode="F").resize((width, height), Image.BILINEAR))
                       for c in range(3)], axis=-1)
    return smooth + rng.normal(0, 6, size=(height, width, 3))


def digit_ink(scan: np.ndarray, height: int, width: int) -> np.ndarray:
    """A digit scan (8, 8) with values 0..16 as ink coverage in [0, 1], resized to (height, width) bilinearly."""
    return np.asarray(Image.fromarray((scan / 16.0).astype(np.float32), mode="F").resize(
        (width, height), Image.BILINEAR)).clip(0, 1)


def paint(img: np.ndarray, ink: np.ndarray, y: int, x: int, colour: np.ndarray) -> None:
    """Blend ``colour`` into ``img`` (H, W, 3) in place by the ink coverage (h, w), top-left corner (y, x)."""
    h, w = ink.shape
    img[y:y + h, x:x + w] = img[y:y + h, x:x + w] * (1 - ink[..., None]) + colour * ink[..., None]


def free_corner(rng: np.random.Generator, boxes: list[tuple[int, int, int, int]], h: int, w: int, height: int,
                width: int) -> tuple[int, int] | None:
    """A top-left corner (y, x) for an h x w digit on a height x width canvas whose box overlaps none of ``boxes``
    (y, x, h, w); None if 50 draws find none (the digit scenes' and the digit-detection set's placement)."""
    for _ in range(50):
        y, x = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
        if all(y + h <= by or by + bh <= y or x + w <= bx or bx + bw <= x for by, bx, bh, bw in boxes):
            return y, x
    return None


def compose(rng: np.random.Generator, scans: np.ndarray, labels: np.ndarray,
            size: int) -> tuple[np.ndarray, np.ndarray]:
    """One scene from the digit ``scans`` (M, 8, 8) with values 0..16 and their ``labels``.

    Returns:
        image (size, size, 3) uint8 and label map (size, size) uint8 (0 background, k + 1 digit k).
    """
    img = background(rng, size, size)
    seg = np.zeros((size, size), np.uint8)
    boxes: list[tuple[int, int, int, int]] = []
    for _ in range(int(rng.integers(1, MAX_DIGITS + 1))):
        side = int(rng.integers(int(size * 0.3), int(size * 0.55) + 1))
        corner = free_corner(rng, boxes, side, side, size, size)
        if corner is None:
            continue
        i = int(rng.integers(len(scans)))
        ink = digit_ink(scans[i], side, side)
        colour = rng.uniform(150, 255, size=3)
        y, x = corner
        paint(img, ink, y, x, colour)
        seg[y:y + side, x:x + side][ink >= 0.5 * ink.max()] = labels[i] + 1
        boxes.append((y, x, side, side))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), seg


def prepare(out_dir: str | Path, size: int = 64, n_train: int = 2000, n_val: int = 400, seed: int = 0) -> Path:
    """Build the scene set in ``out_dir`` (skipped if a complete one with the same settings exists)."""
    from backbones.bundled import build_folder

    def write(tmp: Path, digest: hashlib._Hash) -> dict:
        from sklearn.datasets import load_digits

        digits = load_digits()
        splits = dict(zip(("train", "val"), split_indices(digits.target, 0.2, seed)))
        pixels = np.zeros(11, np.int64)
        for split, count in (("train", n_train), ("val", n_val)):
            rng = np.random.default_rng([seed, 0 if split == "train" else 1])
            idx = splits[split]
            for kind in ("img_dir", "ann_dir"):
                (tmp / kind / split).mkdir(parents=True, exist_ok=True)
            for k in range(count):
                img, seg = compose(rng, digits.images[idx], digits.target[idx], size)
                if split == "val":
                    pixels += np.bincount(seg.ravel(), minlength=11)
                for kind, arr in (("img_dir", img), ("ann_dir", seg)):
                    path = tmp / kind / split / f"{k:05d}.png"
                    Image.fromarray(arr).save(path, format="PNG", optimize=False)
                    digest.update(path.read_bytes())
        return dict(classes=["background", *map(str, range(10))], val_pixels_per_class=pixels.tolist(),
                    source="sklearn.datasets.load_digits (UCI optical recognition of handwritten digits)")

    return build_folder(Path(out_dir), dict(size=size, train=n_train, val=n_val, seed=seed, version=1), write)
