"""The export tool: ``backbones-export`` (flags and help: :func:`backbones_cli.parsers.export`; its steps:
:mod:`backbones.apis.export_run`)."""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

from backbones.deploy.options import DeployOptions
from backbones_cli import parsers


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Flag combinations refused before anything loads; the tolerance's default by precision."""
    if args.batch < 1:
        parser.error(f"--batch must be at least 1, got {args.batch}")
    if args.precision == "int8" and args.format != "onnx":
        parser.error(f"--precision int8 is for --format onnx (onnxruntime's quantizer), not {args.format}; "
                     f"tools/test.py --deploy --precision int8 tests the eager int8 form")
    if args.precision == "bf16" and (args.format == "onnx" or not args.deploy):
        parser.error("--precision bf16 exports the deploy form (--deploy) as torchscript or exported; onnxruntime's "
                     "CPU provider has no bfloat16 kernels for most operators")
    try:  # the deploy options, validated once
        DeployOptions(args.precision, args.calibrate, args.calibrate_from)
    except ValueError as e:
        parser.error(f"{e} (flags --precision, --calibrate, --calibrate-from)")
    if args.tolerance is None:
        args.tolerance = 1e-4 if args.precision == "fp32" else 0.1
    for what, path in (("config", args.config), ("checkpoint", args.checkpoint), ("input", args.input)):
        if path is not None and not Path(path).is_file():
            raise SystemExit(f"error: {what} file {path} does not exist")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (1: the file is farther from eager than ``--tolerance``, or
    could not be written; 2: the checkpoint was refused)."""
    from backbones.apis.export_run import calibration_feeds, compare_exported, export_inputs, export_int8
    from backbones.apis.loading import load_model
    from backbones.deploy import apply_precision, convert_to_deploy
    from backbones.deploy.export import FORMATS, ExportWriteError, dynamic_axes, export
    from backbones.engine.checkpoint import CheckpointReadError, UnsafeCheckpointError
    from backbones.engine.checkpoint.finite import NonFiniteWeightsError

    parser = parsers.export()
    args = parser.parse_args(argv)
    _check(parser, args)
    try:
        cfg, model = load_model(args.config, args.checkpoint)
    except (UnsafeCheckpointError, CheckpointReadError, NonFiniteWeightsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    spec, batches = export_inputs(cfg, model, args.batch, args.output, args.input)
    if args.deploy:
        convert_to_deploy(model)
    spec.net.eval()
    reference = spec.net
    if args.precision == "bf16":  # the file is compared with the float32 eager model
        reference = copy.deepcopy(spec.net)
        apply_precision(spec.net, "bf16")
    suffix = ("_deploy" if args.deploy else "") + ("" if args.precision == "fp32" else f"_{args.precision}")
    out = Path(args.out) if args.out else Path(args.checkpoint).with_name(
        Path(args.checkpoint).stem + suffix + FORMATS[args.format])
    form = "deploy form" if args.deploy else "plain model"
    try:
        if args.precision == "int8":
            feeds, used = None, "activations at run time"
            if args.calibrate:
                try:
                    feeds, used = calibration_feeds(cfg, spec, model, args.calibrate_from, args.calibrate)
                    used = f"activation scales calibrated on {used}"
                except ValueError as e:
                    raise SystemExit(f"error: {e}") from None
            done, weighted = export_int8(spec, batches[0], out, feeds)
            form += f", int8: {done} of its {weighted} weighted products quantized by onnxruntime ({used})"
        else:
            export(spec.net, batches[0], args.format, out, spec.names, spec.dynamic)
            form += ", bfloat16" if args.precision == "bf16" else ""
    except ExportWriteError as e:  # a full disk: the message names the file; nothing is left behind
        print(f"error: {e}", file=sys.stderr)
        return 1
    shapes = ", ".join(f"{n} {tuple(t.shape)}" for n, t in zip(spec.names, batches[0]))
    axes = dynamic_axes(args.format, out)
    dynamic = "traced" if axes is None else "dynamic axes " + ", ".join(f"{k} {v}" for k, v in axes.items())
    print(f"wrote {out} ({args.format}, {form}, {spec.description}; inputs {shapes}; {dynamic})")
    lines, worst = compare_exported(args.format, out, spec, reference, batches, args.precision != "fp32")
    print("\n".join(lines))
    if worst > args.tolerance:
        print(f"error: relative difference {worst:.3g} exceeds --tolerance {args.tolerance}", file=sys.stderr)
        return 1
    return 0


def cli() -> None:
    """The console entry point: exit with :func:`main`'s code."""
    raise SystemExit(main())


if __name__ == "__main__":
    cli()
