"""The sample-grid tool: ``backbones-generate`` (flags and help: :func:`backbones_cli.parsers.generate`)."""
from __future__ import annotations

import sys

import backbones  # noqa: F401  (registries, the safe checkpoint loaders)
from backbones_cli import parsers


def main(argv: list[str] | None = None) -> int:
    """Generate; returns the exit status."""
    import os.path as osp

    from mmengine.config import Config

    from backbones.engine.checkpoint import CheckpointReadError, UnsafeCheckpointError
    from backbones.engine.checkpoint.finite import NonFiniteWeightsError, check_finite_weights
    from backbones.engine.checkpoint.pretrained import KeyMismatchError, load_checkpoint_into
    from backbones.engine.runner.config import build_model
    from backbones.generation.sampling import sample_grid, write_grid

    parser = parsers.generate()
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
