"""Write scikit-learn's bundled handwritten digits as an mmpretrain ``CustomDataset`` folder.

Usage:
    backbones-prepare-data digits OUT_DIR [--size 32] [--val-fraction 0.2] [--seed 0]

The 1,797 real 8x8 scans (UCI optical digits, shipped inside scikit-learn: no network) are upsampled
bicubically to SIZE x SIZE, written as RGB PNG files in ``OUT_DIR/{train,val}/<digit>/<index>.png``
with a fixed-seed, per-class (stratified) split, plus ``OUT_DIR/classes.txt``. The result is
deterministic (same bytes every time). The folder is built beside OUT_DIR and renamed into place,
so an interrupted run never leaves a half-written dataset; an existing complete one is kept.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = [str(d) for d in range(10)]


def split_indices(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split: shuffle each class with ``seed`` and send ``val_fraction`` of it to val."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = int(round(len(idx) * val_fraction))
        val.extend(idx[:n_val].tolist())
        train.extend(idx[n_val:].tolist())
    return np.array(sorted(train)), np.array(sorted(val))


def to_image(scan: np.ndarray, size: int) -> Image.Image:
    """An 8x8 scan with values 0..16 -> a size x size RGB image (white digit on black)."""
    img = Image.fromarray(np.clip(scan * 16, 0, 255).astype(np.uint8), mode="L")
    return img.resize((size, size), Image.BICUBIC).convert("RGB")


def prepare(out_dir: str | Path, size: int = 32, val_fraction: float = 0.2, seed: int = 0) -> Path:
    """Build the dataset in ``out_dir`` (skipped if a complete one with the same settings exists)."""
    from backbones.bundled import build_folder

    def write(tmp: Path, digest: hashlib._Hash) -> dict:
        from sklearn.datasets import load_digits

        digits = load_digits()
        train, val = split_indices(digits.target, val_fraction, seed)
        for split, idx in (("train", train), ("val", val)):
            for c in CLASSES:
                (tmp / split / c).mkdir(parents=True, exist_ok=True)
            for i in idx:
                path = tmp / split / CLASSES[digits.target[i]] / f"{i:04d}.png"
                to_image(digits.images[i], size).save(path, format="PNG", optimize=False)
                digest.update(path.read_bytes())
        (tmp / "classes.txt").write_text("\n".join(CLASSES) + "\n")
        return dict(train=len(train), val=len(val),
                    source="sklearn.datasets.load_digits (UCI optical recognition of handwritten digits)")

    return build_folder(Path(out_dir), dict(size=size, val_fraction=val_fraction, seed=seed, version=1), write)
