"""Mirrored digits: an image set for generation where global structure decides quality.

Each image is a SIZE x SIZE black canvas (default 32) whose right half is the mirror image of its left half: one
handwritten digit of scikit-learn's digits set, resized to SIDE x SIDE pixels (default 14, a box filter), sits in
the left half at a random height and a random horizontal offset, and the right half repeats it flipped left to
right. The label is the digit's class (10 classes).

Why global structure decides: a class-conditional generator knows the class everywhere (conditional BatchNorm),
so each half alone is an ordinary digit; what the set adds is that the two halves must agree - the same height,
the same strokes - across up to SIZE pixels, farther apart than a 3 x 3 convolution stack at 16 x 16 sees without
passing through the 4 x 4 seed. A sample's mirror error ``mean |x - flip(x)|`` is 0 on every real image, so it
measures that agreement directly, beside the usual quality metric. (Design choices: mirrored halves rather than
two scans of one class, because "the same digit" is then checkable pixel by pixel; the digit size 14 keeps a
2-pixel margin for the horizontal offset inside a 16-pixel half.)

The digits come from the folder ``tools/data/prepare_digits.py`` writes; train images use train digits and val
images val digits. Output, in the layout of ``data/digits``::

    OUT/train/<class>/00000.png   OUT/val/<class>/00000.png   OUT/classes.txt   OUT/dataset.json

Deterministic (same bytes for the same settings and source); built beside OUT and renamed into place.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from backbones.bundled.digit_pairs import load_split

VERSION = 1


def compose_mirror(rng: np.random.Generator, image: np.ndarray, size: int = 32, side: int = 14) -> np.ndarray:
    """The (size, size) uint8 canvas of one digit ``image`` (H, W) uint8 and its mirror image.

    Raises:
        ValueError: ``size`` odd or ``side`` larger than half of it.
    """
    half = size // 2
    if size % 2 or not 0 < side <= half:
        raise ValueError(f"digit mirrors: the canvas side {size} must be even and the digit side {side} in "
                         f"[1, {half}]")
    y, x = int(rng.integers(0, size - side + 1)), int(rng.integers(0, half - side + 1))
    left = np.zeros((size, half), np.uint8)
    left[y:y + side, x:x + side] = np.asarray(Image.fromarray(image).resize((side, side), Image.BOX))
    return np.concatenate([left, left[:, ::-1]], axis=1)


def prepare_mirrors(out_dir: str | Path, digits_root: str | Path = "data/digits", size: int = 32, side: int = 14,
                    seed: int = 0) -> Path:
    """Build the mirrored-digits folder in ``out_dir`` (kept if a complete one with the same settings exists): one
    image per digit of each split of ``digits_root``.

    Returns:
        ``out_dir`` as a Path.
    """
    from backbones.bundled import build_folder

    source = Path(digits_root) / "dataset.json"
    source_digest = json.loads(source.read_text())["sha256"] if source.exists() else None
    settings = dict(size=size, side=side, seed=seed, source=source_digest, version=VERSION)
    classes = [str(d) for d in range(10)]

    def write(tmp: Path, digest: hashlib._Hash) -> dict:
        counts = {}
        for split in ("train", "val"):
            images, labels = load_split(digits_root, split)
            rng = np.random.default_rng([seed, 0 if split == "train" else 1])
            for c in classes:
                (tmp / split / c).mkdir(parents=True, exist_ok=True)
            for k, (image, label) in enumerate(zip(images, labels)):
                canvas = compose_mirror(rng, image, size, side)
                path = tmp / split / str(label) / f"{k:05d}.png"
                Image.fromarray(canvas).save(path, format="PNG", optimize=False)
                digest.update(path.read_bytes())
                counts[f"{split}/{label}"] = counts.get(f"{split}/{label}", 0) + 1
        (tmp / "classes.txt").write_text("\n".join(classes) + "\n")
        return dict(classes=classes, counts=counts,
                    source="one digit of the digits folder (sklearn.datasets.load_digits) and its mirror per image")

    return build_folder(Path(out_dir), settings, write)
