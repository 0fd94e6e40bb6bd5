"""Write a grid of class-conditional samples of a trained generation config as a PNG file.

Usage:
    python tools/generate.py CONFIG CHECKPOINT --num N [--label K] --out grid.png [--seed S]
                             [--cfg-options KEY=VALUE ...]

Without ``--label`` the grid has one row per class, N samples each; with it, one row of N samples of class K.
Column j draws its noise from ``(seed, j)`` (the same noise in every row). The samples come from the generator's
moving average when the model keeps one. The checkpoint is loaded strictly with the zoo's safe loader; the PNG
is written atomically (temporary file, then rename).
"""
from __future__ import annotations

import argparse
import sys

import backbones  # noqa: F401  (registries, the safe checkpoint loaders)


def main(argv: list[str] | None = None) -> int:
    """Generate; returns the exit status."""
    from mmengine.config import Config, DictAction

    from backbones.engine.checkpoint import CheckpointReadError, UnsafeCheckpointError
    from backbones.engine.checkpoint.pretrained import KeyMismatchError, load_checkpoint_into
    from backbones.engine.runner.config import build_model
    from backbones.generation.sampling import sample_grid, write_grid

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="generation config file")
    parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument("--num", type=int, default=8, help="samples per row (default 8)")
    parser.add_argument("--label", type=int, help="one row of this class (default: one row per class)")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys: key=value")
    args = parser.parse_args(argv)
    if args.num < 1:
        raise SystemExit(f"error: --num must be at least 1, got {args.num}")
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = build_model(cfg)
    if not hasattr(model, "generate"):
        raise SystemExit(f"error: {args.config} builds a {type(model).__name__}, not a generative model")
    try:
        load_checkpoint_into(model, args.checkpoint, strict=True)
    except (KeyMismatchError, CheckpointReadError, UnsafeCheckpointError, FileNotFoundError) as e:
        raise SystemExit(f"error: {e}") from None
    try:
        grid = sample_grid(model, model.generator.num_classes, args.num, args.label, args.seed)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    path = write_grid(grid, args.out)
    print(f"wrote {grid.shape[0]} x {grid.shape[1]} samples ({grid.shape[-1]} px) to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
