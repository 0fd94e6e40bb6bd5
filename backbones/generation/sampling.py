"""Sample grids of a trained class-conditional GAN, written as PNG files atomically (tools/generate.py)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from backbones.engine.checkpoint import write_atomic
from backbones.engine.runner.seeding import derive_seed
from backbones.generation.model import ConditionalGAN, to_uint8


def grid_labels(num_classes: int, num: int, label: int | None = None) -> torch.Tensor:
    """The labels of a grid, row by row: ``num`` samples of ``label``, or (no label) ``num`` samples per class,
    one row per class. Shape (rows * num,)."""
    if label is not None:
        if not 0 <= label < num_classes:
            raise ValueError(f"label {label} is outside the model's {num_classes} classes (0..{num_classes - 1})")
        return torch.full((num,), label, dtype=torch.long)
    return torch.arange(num_classes).repeat_interleave(num)


@torch.no_grad()
def sample_grid(model: ConditionalGAN, num_classes: int, num: int, label: int | None = None,
                seed: int = 0, batch: int = 256) -> torch.Tensor:
    """A (rows, num, C, H, W) uint8 grid of samples from ``model`` (in eval mode): one row per class, or one row of
    ``label``. Sample j of a row draws its noise from ``(seed, j)``, so column j shares its noise across classes.
    The samples are generated ``batch`` at a time (the grid does not depend on ``batch``: each sample's noise is
    its own and the model is in eval mode), so a large grid never holds more than ``batch`` samples' activations."""
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    model.eval()
    labels = grid_labels(num_classes, num, label)
    seeds = [derive_seed(seed, j) for j in range(num)] * (len(labels) // num)
    images = torch.cat([to_uint8(model.generate(labels[i:i + batch], seeds=seeds[i:i + batch])).cpu()
                        for i in range(0, len(labels), batch)])
    return images.view(len(labels) // num, num, *images.shape[1:])


def grid_png(grid: torch.Tensor, pad: int = 2) -> bytes:
    """A (rows, cols, C, H, W) uint8 grid as PNG bytes (``pad`` black pixels between images)."""
    rows, cols, c, h, w = grid.shape
    canvas = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), dtype=np.uint8)
    for r in range(rows):
        for j in range(cols):
            y, x = pad + r * (h + pad), pad + j * (w + pad)
            canvas[y:y + h, x:x + w] = grid[r, j].permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(canvas[:, :, 0] if c == 1 else canvas).save(buffer, format="PNG")
    return buffer.getvalue()


def write_grid(grid: torch.Tensor, path: str | Path) -> Path:
    """Write the grid as a PNG file atomically (temporary sibling, then rename); returns the path."""
    write_atomic(grid_png(grid), path)
    return Path(path)
