"""The point-file inference tool: ``backbones-infer-points`` (flags and help:
:func:`backbones_cli.parsers.infer_points`)."""
from __future__ import annotations

import os.path as osp
import sys

import backbones  # noqa: F401  (the safe checkpoint loaders)
from backbones_cli import parsers


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = parsers.infer_points()
    args = parser.parse_args(argv)
    if args.precision != "fp32" and not args.deploy:
        parser.error(f"--precision {args.precision} sets the precision of the deploy form; add --deploy")
    from mmengine.runner import load_checkpoint

    from backbones.engine.checkpoint import CheckpointReadError, UnsafeCheckpointError
    from backbones.pointcloud.inference import inference_points, init_point_model
    from backbones.pointcloud.io import PointFileError
    from backbones.pointcloud.visualization import render_points

    try:
        model = init_point_model(args.config)
        ckpt = load_checkpoint(model, args.checkpoint, map_location="cpu", strict=not args.allow_partial)
        model.dataset_meta = ckpt.get("meta", {}).get("dataset_meta", {}) or {}
        if args.deploy:
            from backbones.deploy import convert_to_deploy

            convert_to_deploy(model, args.precision)
        category = int(args.category) if args.category is not None and args.category.isdigit() else args.category
        samples = inference_points(model, args.files, category)
    except (UnsafeCheckpointError, CheckpointReadError, PointFileError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        if "do not match exactly" not in str(e):
            raise
        print(f"error: checkpoint {args.checkpoint} does not fit the model of {args.config}; --allow-partial "
              f"loads the matching keys only.\n{e}", file=sys.stderr)
        return 2
    names = list((model.dataset_meta or {}).get("classes", []))
    for path, s in zip(args.files, samples):
        if "pred_parts" in s:
            parts, counts = s.pred_parts.unique(return_counts=True)
            print(f"{path}: parts {dict(zip(parts.tolist(), counts.tolist()))}")
        else:
            label = int(s.pred_label)
            print(f"{path}: {names[label] if label < len(names) else label} ({float(s.pred_score[label]):.3f})")
        if args.show_dir:
            png = osp.join(args.show_dir, osp.basename(path).replace(".", "_") + ".png")
            parts = s.pred_parts.numpy() if "pred_parts" in s else None
            render_points(png, [(s.points_xyz, parts, osp.basename(path))])
    return 0


def cli() -> None:
    """The console entry point: exit with :func:`main`'s code."""
    raise SystemExit(main())


if __name__ == "__main__":
    cli()
