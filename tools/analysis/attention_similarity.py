"""DeepViT's attention-collapse measure for a trained model: block-to-block attention similarity.

Usage:
    python tools/analysis/attention_similarity.py CONFIG CHECKPOINT [--images 32] [--threshold 0.9]
        [--out similarity.png] [--json similarity.json]

Runs ``--images`` images of the config's test set (evenly spaced over it), records every block's attention map
(self-attention, Re-attention) or memory map (External attention, compared through the token
affinities A A^T it induces; see backbones/analysis/attention.py for the measure, DeepViT's Eq. 3), prints the
similarity of each block to the next, the number of "similar blocks" (similarity above the threshold)
and the cross-head similarity inside each block, and writes a heat map (and, with ``--json``, the
figures: ``adjacent``, ``similar_blocks``, ``matrix``, ``head_similarity``, ``images``, ``threshold``).
For Re-attention, whose maps are re-generated (heads mixed, BatchNorm: signed and centred) before they
weight the values, the same figures of its softmax maps are added under ``before_transform``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from backbones.apis.loading import dataset_images, load_images, load_model


def plot(sim, path: str, title: str) -> None:  # noqa: ANN001
    """Heat map of the (L, L) similarity matrix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4.3))
    im = ax.imshow(sim.numpy(), vmin=0, vmax=1, cmap="viridis")
    ax.set_xlabel("block")
    ax.set_ylabel("block")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="cosine similarity")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    """Command-line entry point; returns the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--out", default="attention_similarity.png")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    from backbones.analysis.attention import block_similarity, collect_maps, head_similarity, similar_blocks
    from backbones.utils.files import write_text_atomic

    cfg, model = load_model(args.config, args.checkpoint)
    images = load_images(cfg, model, dataset_images(cfg, args.images))
    maps = collect_maps(model.backbone, images)
    sim = block_similarity(maps)
    adjacent = sim.diagonal(offset=1).tolist()
    count = similar_blocks(sim, args.threshold)
    for i, s in enumerate(adjacent):
        print(f"block {i:2d} -> {i + 1:2d}: similarity {s:.3f}")
    print(f"similar blocks (> {args.threshold}): {count} of {len(adjacent)}")
    result = dict(adjacent=adjacent, similar_blocks=count, matrix=sim.tolist(), head_similarity=head_similarity(maps),
                  images=len(images), threshold=args.threshold)
    print("cross-head similarity per block: " + ", ".join(f"{h:.3f}" for h in result["head_similarity"]))
    raw = collect_maps(model.backbone, images, raw=True)
    if any(not torch.equal(a, b) for a, b in zip(maps, raw)):  # Re-attention: also its softmax maps
        raw_sim = block_similarity(raw)
        result["before_transform"] = dict(adjacent=raw_sim.diagonal(offset=1).tolist(), matrix=raw_sim.tolist(),
                                          similar_blocks=similar_blocks(raw_sim, args.threshold),
                                          head_similarity=head_similarity(raw))
        before = result["before_transform"]
        print(f"before the map transform (softmax maps): similar blocks {before['similar_blocks']}, similarity "
              f"to the next block " + ", ".join(f"{s:.3f}" for s in before["adjacent"]))
    plot(sim, args.out, f"{Path(args.config).stem}\n{count} similar blocks (> {args.threshold})")
    print(f"heat map: {args.out}")
    if args.json:
        write_text_atomic(json.dumps(result, indent=2) + "\n", args.json)
    return result


if __name__ == "__main__":
    main()
