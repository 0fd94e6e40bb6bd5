"""The attention-collapse measure: ``backbones-attention-similarity`` (flags and help:
:func:`backbones_cli.parsers.attention_similarity`)."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from backbones.analysis.attention import collect_maps, similarity_figures
from backbones.analysis.figures import save_similarity
from backbones.apis.loading import dataset_images, load_images, load_model
from backbones.utils.files import write_text_atomic
from backbones_cli import parsers


def main(argv: list[str] | None = None) -> dict:
    """Command-line entry point; prints the figures, writes the heat map (and ``--json``); returns the figures."""
    args = parsers.attention_similarity().parse_args(argv)
    cfg, model = load_model(args.config, args.checkpoint)
    images = load_images(cfg, model, dataset_images(cfg, args.images))
    maps = collect_maps(model.backbone, images)
    result = dict(similarity_figures(maps, collect_maps(model.backbone, images, raw=True), args.threshold),
                  images=len(images))
    for i, s in enumerate(result["adjacent"]):
        print(f"block {i:2d} -> {i + 1:2d}: similarity {s:.3f}")
    count = result["similar_blocks"]
    print(f"similar blocks (> {args.threshold}): {count} of {len(result['adjacent'])}")
    print("cross-head similarity per block: " + ", ".join(f"{h:.3f}" for h in result["head_similarity"]))
    if "before_transform" in result:  # Re-attention: also its softmax maps
        before = result["before_transform"]
        print(f"before the map transform (softmax maps): similar blocks {before['similar_blocks']}, similarity "
              f"to the next block " + ", ".join(f"{s:.3f}" for s in before["adjacent"]))
    save_similarity(torch.tensor(result["matrix"]), args.out,
                    f"{Path(args.config).stem}\n{count} similar blocks (> {args.threshold})")
    print(f"heat map: {args.out}")
    if args.json:
        write_text_atomic(json.dumps(result, indent=2) + "\n", args.json)
    return result


def cli() -> None:
    """The console entry point."""
    main()


if __name__ == "__main__":
    cli()
