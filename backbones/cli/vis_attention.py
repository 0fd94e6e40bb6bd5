"""The attention overlay: ``backbones-vis-attention`` (flags and help: :func:`backbones_cli.parsers.vis_attention`)."""
from __future__ import annotations

from pathlib import Path

from backbones.analysis.attention import class_token_map, collect_maps
from backbones.analysis.figures import save_overlay
from backbones.apis.loading import load_images, load_model
from backbones_cli import parsers


def main(argv: list[str] | None = None) -> str:
    """Command-line entry point; returns the PNG path."""
    args = parsers.vis_attention().parse_args(argv)
    if not Path(args.image).is_file():
        raise SystemExit(f"error: image {args.image} does not exist")
    cfg, model = load_model(args.config, args.checkpoint)
    images = load_images(cfg, model, [args.image])
    maps = collect_maps(model.backbone, images)
    heat = class_token_map(maps, args.block, model.backbone.stem.grid_size(tuple(images.shape[-2:])))
    save_overlay(images[0], heat, args.out, f"class-token attention, block {args.block % len(maps)}")
    print(f"attention overlay: {args.out}")
    return args.out


def cli() -> None:
    """The console entry point."""
    main()


if __name__ == "__main__":
    cli()
