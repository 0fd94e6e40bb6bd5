"""The mirrored-digits set (backbones.bundled.digit_mirrors) and the metric's mirror error: every image equals its
mirror image, holds one digit of its class in the left half, builds deterministically; the error is 0 for
mirrored images and grows with the disagreement of the halves."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from backbones.bundled.digit_mirrors import compose_mirror, prepare_mirrors
from backbones.generation.metrics import mirror_error


def test_compose_gives_a_mirrored_digit_in_the_left_half() -> None:
    rng = np.random.default_rng(0)
    digit = np.full((32, 32), 200, np.uint8)
    canvas = compose_mirror(rng, digit, size=32, side=14)
    assert canvas.shape == (32, 32) and np.array_equal(canvas, canvas[:, ::-1])
    left = canvas[:, :16] > 0
    assert left.sum() == 14 * 14 and left.any(0).sum() == 14 and left.any(1).sum() == 14
    with pytest.raises(ValueError, match="digit side 20"):
        compose_mirror(rng, digit, size=32, side=20)


def test_mirror_error_of_known_images() -> None:
    sym = torch.zeros(2, 1, 4, 4, dtype=torch.uint8)
    sym[:, :, :, 0] = sym[:, :, :, 3] = 255
    assert mirror_error(sym) == 0
    half = torch.zeros(1, 1, 4, 4, dtype=torch.uint8)
    half[..., :2] = 255  # left half white, right black: every pixel differs from its mirror by 255
    assert mirror_error(half) == pytest.approx(100.0)


def test_prepare_is_deterministic_and_mirrored(digits: Path, tmp_path: Path) -> None:  # noqa: ANN001
    a = prepare_mirrors(tmp_path / "a", digits)
    b = prepare_mirrors(tmp_path / "b", digits)
    info = json.loads((a / "dataset.json").read_text())
    assert info["sha256"] == json.loads((b / "dataset.json").read_text())["sha256"]
    n = {split: len(list((digits / split).glob("*/*.png"))) for split in ("train", "val")}
    assert sum(v for k, v in info["counts"].items() if k.startswith("train/")) == n["train"]
    for path in sorted((a / "val").glob("*/*.png"))[:20]:
        img = np.asarray(Image.open(path))
        assert img.ndim == 2 and np.array_equal(img, img[:, ::-1]) and img.max() > 0


def test_study_comparison_needs_seed_ranges() -> None:
    from lab.study.generation_mirrors import compare

    assert compare([1.0], [2.0], higher_better=True) == "one seed, no verdict"
    assert compare([3.0, 4.0], [1.0, 2.0], higher_better=True) == "better"
    assert compare([3.0, 4.0], [1.0, 2.0], higher_better=False) == "worse"
    assert compare([1.0, 3.0], [2.0, 4.0], higher_better=True) == "overlap"
