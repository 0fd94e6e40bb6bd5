"""Write a grid of class-conditional samples of a trained generation config as a PNG file.

Usage:
    backbones-generate CONFIG CHECKPOINT --num N [--label K] --out grid.png [--seed S] [--batch B]
                       [--cfg-options KEY=VALUE ...]
    (or python tools/generate.py ..., python -m backbones.cli.generate ...)

Without ``--label`` the grid has one row per class, N samples each; with it, one row of N samples of class K.
Column j draws its noise from ``(seed, j)`` (the same noise in every row). The samples come from the generator's
moving average when the model keeps one, ``--batch`` at a time (the grid does not depend on it). The checkpoint is
loaded strictly with the zoo's safe loader (mis-shaped, missing or unknown keys are an error naming them; NaN or
infinite weights are refused naming the tensor); the PNG is written atomically (temporary file, then rename).
"""
from __future__ import annotations

import argparse
import sys

import backbones  # noqa: F401  (registries)
import backbones.safe_loading  # noqa: F401  (mmengine loads checkpoints with the safe loader)
from backbones.cli.common import invoked_as


def main(argv: list[str] | None = None) -> int:
    """Generate; returns the exit status."""
    import os.path as osp

    from mmengine.config import Config, DictAction

    from backbones.engine.checkpoint import CheckpointReadError, UnsafeCheckpointError
    from backbones.engine.checkpoint.finite import NonFiniteWeightsError, check_finite_weights
    from backbones.engine.checkpoint.pretrained import KeyMismatchError, load_checkpoint_into
    from backbones.engine.runner.config import build_model
    from backbones.generation.sampling import sample_grid, write_grid

    parser = argparse.ArgumentParser(prog=invoked_as("backbones.cli.generate", __file__), description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="generation config file")
    parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument("--num", type=int, default=8, help="samples per row (default 8)")
    parser.add_argument("--label", type=int, help="one row of this class (default: one row per class)")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--batch", type=int, default=256, help="samples generated at a time (default 256)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys: key=value")
    args = parser.parse_args(argv)
    if args.num < 1:
        raise SystemExit(f"error: --num must be at least 1, got {args.num}")
    if args.batch < 1:
        raise SystemExit(f"error: --batch must be at least 1, got {args.batch}")
    if not osp.isfile(args.config):
        raise SystemExit(f"error: config file {args.config} does not exist")
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = build_model(cfg)
    if not hasattr(model, "generate"):
        raise SystemExit(f"error: {args.config} builds a {type(model).__name__}, not a generative model")
    try:
        load_checkpoint_into(model, args.checkpoint, strict=True)
        check_finite_weights(model, args.checkpoint)
    except (KeyMismatchError, CheckpointReadError, UnsafeCheckpointError, FileNotFoundError,
            NonFiniteWeightsError) as e:
        raise SystemExit(f"error: {e}") from None
    except RuntimeError as e:  # torch's load_state_dict: mis-shaped tensors
        raise SystemExit(f"error: checkpoint {args.checkpoint} does not fit the model of {args.config} "
                         f"(another width or architecture?): {e}") from None
    try:
        grid = sample_grid(model, model.generator.num_classes, args.num, args.label, args.seed, batch=args.batch)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    path = write_grid(grid, args.out)
    print(f"wrote {grid.shape[0]} x {grid.shape[1]} samples ({grid.shape[-1]} px) to {path}")
    return 0


def cli() -> None:
    """The console entry point (``backbones-generate``)."""
    sys.exit(main())


if __name__ == "__main__":
    cli()
