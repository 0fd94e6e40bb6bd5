"""Overlay a trained model's attention on an input image (PNG).

Usage:
    python tools/analysis/vis_attention.py CONFIG CHECKPOINT IMAGE [--out attention.png] [--block -1]

For self-attention and Re-attention: the class token's attention to the patches in ``--block``,
averaged over heads. For External attention: the class token's row of the token affinity A A^T that
the memory induces (backbones/analysis/attention.py). Each map is shown beside the image, upsampled over it.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from backbones.apis.loading import load_images, load_model


def class_token_map(maps: list[torch.Tensor], block: int, grid: tuple[int, int]) -> torch.Tensor:
    """(h, w) map of the class token's attention to the patches in ``block`` (image 0, mean over heads)."""
    row = maps[block][0, :, 0, 1:].mean(0)
    return row.reshape(grid)


def main(argv: list[str] | None = None) -> str:
    """Command-line entry point; returns the PNG path."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("image")
    parser.add_argument("--block", type=int, default=-1)
    parser.add_argument("--out", default="attention.png")
    args = parser.parse_args(argv)
    if not Path(args.image).is_file():
        raise SystemExit(f"error: image {args.image} does not exist")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from backbones.analysis.attention import collect_maps

    cfg, model = load_model(args.config, args.checkpoint)
    images = load_images(cfg, model, [args.image])
    maps = collect_maps(model.backbone, images)
    grid = model.backbone.stem.grid_size(tuple(images.shape[-2:]))
    heat = class_token_map(maps, args.block, grid)
    heat = torch.nn.functional.interpolate(heat[None, None], size=images.shape[-2:], mode="bilinear")[0, 0]
    img = images[0].permute(1, 2, 0)
    img = (img - img.min()) / (img.max() - img.min() + 1e-12)
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.6))
    axes[0].imshow(img.numpy())
    axes[0].set_title("input")
    axes[1].imshow(img.numpy())
    axes[1].imshow(heat.numpy(), cmap="jet", alpha=0.5)
    axes[1].set_title(f"class-token attention, block {args.block % len(maps)}")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    plt.close(fig)
    print(f"attention overlay: {args.out}")
    return args.out


if __name__ == "__main__":
    main()
