"""The export tool: ``backbones-export`` (flags and help: :func:`backbones_cli.parsers.export`)."""
from __future__ import annotations

import sys
from pathlib import Path

import torch

from backbones.apis.loading import load_images, load_model, test_batch
from backbones.deploy.options import DeployOptions
from backbones_cli import parsers


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from backbones.apis.exporting import example_inputs, export_spec
    from backbones.deploy import convert_to_deploy
    from backbones.deploy.export import FORMATS, ExportWriteError, differences, dynamic_axes, export, run_exported

    parser = parsers.export()
    args = parser.parse_args(argv)
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
    from backbones.engine.checkpoint import CheckpointReadError, UnsafeCheckpointError
    from backbones.engine.checkpoint.finite import NonFiniteWeightsError

    try:
        cfg, model = load_model(args.config, args.checkpoint)
    except (UnsafeCheckpointError, CheckpointReadError, NonFiniteWeightsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    sizes = (args.batch, args.batch + 1)
    if args.input:
        images = load_images(cfg, model, [args.input] * sizes[1])
        meta, spec = {}, export_spec(model, output=args.output)
        batches = [(images[:n],) for n in sizes]
    else:
        batch, meta = test_batch(cfg, sizes[1])
        spec = export_spec(model, meta, args.output)
        full = example_inputs(spec, batch, model)
        batches = [tuple(t[:n] for t in full) for n in sizes]
    if args.deploy:
        convert_to_deploy(model)
    spec.net.eval()
    reference = spec.net
    if args.precision == "bf16":  # the file is compared with the float32 eager model
        import copy

        from backbones.deploy import apply_precision

        reference = copy.deepcopy(spec.net)
        apply_precision(spec.net, "bf16")
    out = Path(args.out) if args.out else Path(args.checkpoint).with_name(
        Path(args.checkpoint).stem + ("_deploy" if args.deploy else "") + ("" if args.precision == "fp32" else
                                                                            f"_{args.precision}")
        + FORMATS[args.format])
    try:
        if args.precision == "int8":
            calibration = None
            if args.calibrate:
                from backbones.deploy.hook import calibration_batches

                try:
                    data = calibration_batches(cfg, args.calibrate_from, args.calibrate)
                except ValueError as e:
                    raise SystemExit(f"error: {e}") from None
                calibration = [dict(zip(spec.names, (t.numpy() for t in example_inputs(spec, b, model))))
                               for b in data]
                capped = data.count < data.requested
                used = f"{data.count} {args.calibrate_from} batches" + (
                    f" ({data.requested} asked for; the loader has {data.count})" if capped else "")
            quantized = _export_int8(spec, batches[0], out, calibration)
        else:
            export(spec.net, batches[0], args.format, out, spec.names, spec.dynamic)
    except ExportWriteError as e:  # a full disk: the message names the file; nothing is left behind
        print(f"error: {e}", file=sys.stderr)
        return 1
    form = "deploy form" if args.deploy else "plain model"
    if args.precision == "int8":
        form += (f", int8: {quantized[0]} of its {quantized[1]} weighted products quantized by onnxruntime"
                 + (f" (activation scales calibrated on {used})"
                    if args.calibrate else " (activations at run time)"))
    elif args.precision == "bf16":
        form += ", bfloat16"
    shapes = ", ".join(f"{n} {tuple(t.shape)}" for n, t in zip(spec.names, batches[0]))
    axes = dynamic_axes(args.format, out)
    dynamic = "traced" if axes is None else "dynamic axes " + ", ".join(f"{k} {v}" for k, v in axes.items())
    print(f"wrote {out} ({args.format}, {form}, {spec.description}; inputs {shapes}; {dynamic})")
    worst = 0.0
    for inputs in batches:
        with torch.no_grad():
            want = reference(*inputs)
        got = run_exported(args.format, out, inputs, spec.names)
        got = got.float() if got.is_floating_point() else got  # a bfloat16 file's logits
        if not want.is_floating_point():  # labels: the share of entries that differ (a near tie may flip one)
            rel_diff = (got != want).float().mean().item()
            print(f"batch {len(inputs[0])}: output {tuple(want.shape)}, {100 * rel_diff:.3g}% of the labels differ "
                  f"from eager")
        else:
            abs_diff, rel_diff = differences(got, want)
            agree = f", top-1 agreement {(got.argmax(-1) == want.argmax(-1)).float().mean().item():.1%}" \
                if args.precision != "fp32" and want.dim() == 2 else ""
            print(f"batch {len(inputs[0])}: output {tuple(want.shape)}, max abs difference {abs_diff:.3g}, "
                  f"max rel difference {rel_diff:.3g} against eager{agree}")
        worst = max(worst, rel_diff)
    if axes and any(len(a) > 1 for a in axes.values()):  # a size the file claims: run it there
        inputs = tuple(_grown(t, axes.get(n, [0])) for n, t in zip(spec.names, batches[0]))
        with torch.no_grad():
            want = reference(*inputs)
        got = run_exported(args.format, out, inputs, spec.names)
        rel_diff = (got != want).float().mean().item() if not want.is_floating_point() else differences(got, want)[1]
        print(f"input {tuple(inputs[0].shape)} (another size on the dynamic axes): output {tuple(want.shape)}, "
              f"{'share of labels' if not want.is_floating_point() else 'max rel difference'} {rel_diff:.3g}")
        worst = max(worst, rel_diff)
    if worst > args.tolerance:
        print(f"error: relative difference {worst:.3g} exceeds --tolerance {args.tolerance}", file=sys.stderr)
        return 1
    return 0


def _export_int8(spec, inputs: tuple[torch.Tensor, ...], out: Path,  # noqa: ANN001
                 calibration: list[dict] | None = None) -> tuple[int, int]:
    """The float32 ONNX file in a temporary folder, quantized into ``out`` (statically with ``calibration``
    feeds); (products quantized, weighted)."""
    import tempfile

    from backbones.deploy.export import export, quantize_onnx_int8

    with tempfile.TemporaryDirectory() as folder:
        fp32 = export(spec.net, inputs, "onnx", Path(folder) / "fp32.onnx", spec.names, spec.dynamic)
        return quantize_onnx_int8(fp32, out, calibration)


def _grown(t: torch.Tensor, axes: list[int]) -> torch.Tensor:
    """Images (B, C, H, W) with dynamic height and width: resized 32 pixels taller and 16 wider; other inputs as
    they are."""
    if t.dim() != 4 or not {2, 3} <= set(axes):
        return t
    return torch.nn.functional.interpolate(t, size=(t.shape[2] + 32, t.shape[3] + 16), mode="bilinear")


def cli() -> None:
    """The console entry point: exit with :func:`main`'s code."""
    raise SystemExit(main())


if __name__ == "__main__":
    cli()
