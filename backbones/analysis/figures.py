"""The analysis commands' pictures (matplotlib, written atomically): an attention map over its image and a
block-similarity heat map (:mod:`backbones.analysis.attention` computes what they show)."""
from __future__ import annotations

import io
from pathlib import Path

import torch

from backbones.utils.files import write_atomic


def save_figure(fig, path: str | Path) -> None:  # noqa: ANN001
    buf = io.BytesIO()
    fig.savefig(buf, dpi=100, format="png")
    write_atomic(buf.getvalue(), path)


def _pyplot():  # noqa: ANN202
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_overlay(image: torch.Tensor, heat: torch.Tensor, path: str | Path, title: str) -> None:
    """The image beside itself under ``heat`` upsampled to its size.

    Args:
        image: (C, H, W) normalised input (rescaled to [0, 1] for display).
        heat: (h, w) map.
        path: PNG file.
        title: the map's title.
    """
    plt = _pyplot()
    heat = torch.nn.functional.interpolate(heat[None, None], size=image.shape[-2:], mode="bilinear")[0, 0]
    img = image.permute(1, 2, 0)
    img = (img - img.min()) / (img.max() - img.min() + 1e-12)
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.6))
    axes[0].imshow(img.numpy())
    axes[0].set_title("input")
    axes[1].imshow(img.numpy())
    axes[1].imshow(heat.numpy(), cmap="jet", alpha=0.5)
    axes[1].set_title(title)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def save_similarity(sim: torch.Tensor, path: str | Path, title: str) -> None:
    """Heat map of an (L, L) block-similarity matrix (cosine similarity in [0, 1])."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.3))
    im = ax.imshow(sim.numpy(), vmin=0, vmax=1, cmap="viridis")
    ax.set_xlabel("block")
    ax.set_ylabel("block")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="cosine similarity")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
