"""Export a config's model with a checkpoint to TorchScript, ONNX or ``torch.export``, and check the file.

Usage:
    python tools/deploy/export.py CONFIG CHECKPOINT --format {onnx,torchscript,exported} [--deploy]
        [--out FILE] [--input IMAGE] [--batch 1]

The exported network takes the data preprocessor's normalised batch (B, 3, H, W) (points: (B, N, C)) and
returns the raw outputs (logits). ``--deploy`` exports the converted model (``backbones.deploy``). The
file is run back (ONNX through onnxruntime) on a real input - ``--input IMAGE`` through the config's test
pipeline, else the first samples of the config's test set - and the max absolute and relative difference
against the eager model is printed. Exit code 1 when the relative difference exceeds ``--tolerance``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from backbones.cli.loading import load_images, load_model, test_inputs


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from backbones.deploy import convert_to_deploy
    from backbones.deploy.export import FORMATS, differences, export, run_exported

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--format", required=True, choices=sorted(FORMATS))
    parser.add_argument("--deploy", action="store_true", help="export the converted (deploy) model")
    parser.add_argument("--out", help="output file (default: next to the checkpoint)")
    parser.add_argument("--input", help="an image to check the file on (default: the config's test set)")
    parser.add_argument("--batch", type=int, default=1, help="test samples to check on (without --input)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest accepted relative difference")
    args = parser.parse_args(argv)
    for what, path in (("config", args.config), ("checkpoint", args.checkpoint), ("input", args.input)):
        if path is not None and not Path(path).is_file():
            raise SystemExit(f"error: {what} file {path} does not exist")
    from backbones.checkpoint import CheckpointReadError, UnsafeCheckpointError

    try:
        cfg, model = load_model(args.config, args.checkpoint)
    except (UnsafeCheckpointError, CheckpointReadError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    inputs = load_images(cfg, model, [args.input]) if args.input else test_inputs(cfg, model, args.batch)
    if args.deploy:
        convert_to_deploy(model)
    out = Path(args.out) if args.out else Path(args.checkpoint).with_name(
        Path(args.checkpoint).stem + ("_deploy" if args.deploy else "") + FORMATS[args.format])
    with torch.no_grad():
        want = model(inputs, mode="tensor")
    while isinstance(want, (tuple, list)):
        want = want[-1]
    export(model, inputs, args.format, out)
    got = run_exported(args.format, out, inputs)
    abs_diff, rel_diff = differences(got, want)
    form = "deploy form" if args.deploy else "plain model"
    print(f"wrote {out} ({args.format}, {form}, input {tuple(inputs.shape)})")
    print(f"max abs difference {abs_diff:.3g}, max rel difference {rel_diff:.3g} against eager")
    if rel_diff > args.tolerance:
        print(f"error: relative difference {rel_diff:.3g} exceeds --tolerance {args.tolerance}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
