"""Digit pairs: a classification task that needs token mixing (the harder task of the FF-only study).

Each image is a SIZE x SIZE black canvas cut into CELL x CELL cells (default 32 and 8: a 4 x 4 grid); two
handwritten digits of scikit-learn's digits set, each at the 8 x 8 resolution of the original scans, fill two
distinct random cells. The label depends on both digits:

* ``sum`` (default): ``(a + b) mod 10``, a and b drawn uniformly (10 balanced classes).
* ``same``: ``same`` if the two digits are of one class (two different scans), else ``different``; half of
  the images are ``same``.

Why it needs mixing: without token mixing (``IdentityMixer``) and with an average read-out, the logits are a
sum over tokens of a function of one token. With a patch no larger than a cell, no token holds parts of both
digits, so the logits are ``g(a, where a is) + g(b, where b is)``, and no such sum gives ``(a + b) mod 10``:
the best table g over the 100 digit pairs reaches 12% (chance 10%), and for ``same`` 55% (chance 50%), while
a model whose tokens see each other can combine the two digits. With patch 8 each digit is one token, so
recognising a digit needs no mixing and combining the two is all that is left to the mixer. (Measured with
the study's quick settings: self-attention learned neither ``same`` on 48 px canvases with free placement
nor ``sum`` with 10-12 px digits at patch 4 in 15-20 epochs: both stayed at chance.)

The digits come from the folder ``tools/data/prepare_digits.py`` writes (``train/<digit>/*.png``,
``val/<digit>/*.png``, resized back to the cell with a box filter): train pairs use train digits and val pairs
val digits, the split of the digits task. Output, in the layout of ``data/digits``::

    OUT/train/<class>/00000.png   OUT/val/<class>/00000.png   OUT/classes.txt
    OUT/pairs.json (per image: split, file, the two digits, their boxes (y, x, side), label)
    OUT/dataset.json (settings, counts, sha256 of every image in order, the source digits' digest)

Deterministic (same bytes for the same settings and source); the folder is built beside OUT and renamed
into place, and a complete one with the same settings is kept.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

#: label rules: name -> (classes in folder order, label of digits (a, b))
LABEL_RULES: dict[str, tuple[list[str], Callable[[int, int], str]]] = {
    "same": (["different", "same"], lambda a, b: "same" if a == b else "different"),
    "sum": ([str(d) for d in range(10)], lambda a, b: str((a + b) % 10)),
}
VERSION = 1


def load_split(digits_root: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The images of one split of a digits folder as (M, H, W) uint8 grey levels and their (M,) classes.

    Raises:
        FileNotFoundError: the folder has no ``split/<digit>/*.png`` (build it with tools/data/prepare_digits.py).
    """
    folder = Path(digits_root) / split
    files = sorted(folder.glob("[0-9]/*.png"))
    if not files:
        raise FileNotFoundError(f"{folder}: no <digit>/*.png images; build the digits folder first with "
                                f"'backbones-prepare-data digits {digits_root}'")
    images = np.stack([np.asarray(Image.open(f).convert("L")) for f in files])
    return images, np.array([int(f.parent.name) for f in files])


def compose_pair(rng: np.random.Generator, images: np.ndarray, labels: np.ndarray, rule: str = "sum",
                 size: int = 32, cell: int = 8) -> tuple[np.ndarray, dict]:
    """One image of two digits and its record.

    The canvas is a grid of ``cell`` x ``cell`` cells; each digit, resized to one cell (8 x 8: the resolution of
    the original scans), fills one of two distinct random cells.

    Args:
        rng: the generator (consumed in a fixed order: determinism).
        images: (M, H, W) uint8 digit images; labels: their (M,) classes.
        rule: a key of :data:`LABEL_RULES`.
        size: canvas side in pixels (a multiple of ``cell``).
        cell: digit side in pixels.

    Returns:
        the canvas (size, size) uint8 and ``dict(digits=[a, b], boxes=[[y, x, side], ...], label=str)``.
    """
    if rule not in LABEL_RULES:
        raise ValueError(f"digit pairs: unknown label rule {rule!r}; valid: {sorted(LABEL_RULES)}")
    if size % cell or size // cell < 2:
        raise ValueError(f"digit pairs: the canvas side {size} must be a multiple of the cell {cell}, "
                         f"with at least 2 cells a side")
    first = int(rng.integers(len(images)))
    a = int(labels[first])
    if rule == "same":
        same = bool(rng.random() < 0.5)
        pool = np.flatnonzero((labels == a) & (np.arange(len(labels)) != first)) if same else \
            np.flatnonzero(labels != a)
        second = int(pool[rng.integers(len(pool))])
    else:
        second = int(rng.integers(len(images)))
    grid = size // cell
    cells = rng.choice(grid * grid, size=2, replace=False)
    canvas = np.zeros((size, size), np.uint8)
    boxes = []
    for index, c in zip((first, second), cells):
        y, x = int(c) // grid * cell, int(c) % grid * cell
        canvas[y:y + cell, x:x + cell] = np.asarray(Image.fromarray(images[index]).resize((cell, cell), Image.BOX))
        boxes.append([y, x, cell])
    b = int(labels[second])
    return canvas, dict(digits=[a, b], boxes=boxes, label=LABEL_RULES[rule][1](a, b))


def prepare_pairs(out_dir: str | Path, digits_root: str | Path = "data/digits", rule: str = "sum", size: int = 32,
                  cell: int = 8, n_train: int = 4000, n_val: int = 1000, seed: int = 0) -> Path:
    """Build the digit-pairs folder in ``out_dir`` (kept if a complete one with the same settings exists).

    Args:
        out_dir: target folder.
        digits_root: the digits folder of tools/data/prepare_digits.py (the source of the digits).
        rule, size, cell: see :func:`compose_pair`.
        n_train, n_val: images per split.
        seed: the seed of every random choice.

    Returns:
        ``out_dir`` as a Path.
    """
    if rule not in LABEL_RULES:
        raise ValueError(f"digit pairs: unknown label rule {rule!r}; valid: {sorted(LABEL_RULES)}")
    if n_train <= 0 or n_val <= 0:
        raise ValueError(f"digit pairs: n_train and n_val must be positive, got {n_train} and {n_val}")
    from backbones.bundled import build_folder

    source = Path(digits_root) / "dataset.json"
    source_digest = json.loads(source.read_text())["sha256"] if source.exists() else None
    settings = dict(rule=rule, size=size, cell=cell, train=n_train, val=n_val, seed=seed, source=source_digest,
                    version=VERSION)
    classes = LABEL_RULES[rule][0]

    def write(tmp: Path, digest: hashlib._Hash) -> dict:
        records, counts = [], {}
        for split, count in (("train", n_train), ("val", n_val)):
            images, labels = load_split(digits_root, split)
            rng = np.random.default_rng([seed, 0 if split == "train" else 1])
            for c in classes:
                (tmp / split / c).mkdir(parents=True, exist_ok=True)
            for k in range(count):
                canvas, rec = compose_pair(rng, images, labels, rule, size, cell)
                path = tmp / split / rec["label"] / f"{k:05d}.png"
                Image.fromarray(canvas).convert("RGB").save(path, format="PNG", optimize=False)
                digest.update(path.read_bytes())
                records.append(dict(split=split, file=str(path.relative_to(tmp)), **rec))
                counts[f"{split}/{rec['label']}"] = counts.get(f"{split}/{rec['label']}", 0) + 1
        (tmp / "classes.txt").write_text("\n".join(classes) + "\n")
        (tmp / "pairs.json").write_text(json.dumps(records) + "\n")
        return dict(classes=classes, counts=counts,
                    source=f"two digits of the digits folder (sklearn.datasets.load_digits) per image, rule {rule!r}")

    return build_folder(Path(out_dir), settings, write)
