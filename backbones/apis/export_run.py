"""The export command's steps on a loaded model (:mod:`backbones.cli.export` parses, loads and prints): its example
batches, the calibration feeds of a static int8 file, the int8 ONNX file, and the comparison of the written file
with the eager network at every batch size it was written for (and at another size where its axes are dynamic)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import torch
import torch.nn as nn

from backbones.apis.exporting import ExportSpec, example_inputs, export_spec
from backbones.apis.loading import load_images, test_batch
from backbones.deploy.export import differences, dynamic_axes, export, quantize_onnx_int8, run_exported


def export_inputs(cfg, model: nn.Module, batch: int, output: str,  # noqa: ANN001
                  image: str | None = None) -> tuple[ExportSpec, list[tuple[torch.Tensor, ...]]]:
    """The network to export and two example batches, of ``batch`` and ``batch + 1`` samples (the file is checked
    at both): the first test samples of the config, or ``image`` repeated."""
    sizes = (batch, batch + 1)
    if image:
        images = load_images(cfg, model, [image] * sizes[1])
        return export_spec(model, output=output), [(images[:n],) for n in sizes]
    data, meta = test_batch(cfg, sizes[1])
    spec = export_spec(model, meta, output)
    full = example_inputs(spec, data, model)
    return spec, [tuple(t[:n] for t in full) for n in sizes]


def calibration_feeds(cfg, spec: ExportSpec, model: nn.Module, source: str,  # noqa: ANN001
                      count: int) -> tuple[list[dict], str]:
    """onnxruntime's calibration feeds (input name -> array) of ``count`` batches of the config's ``source`` set
    (``'train'`` or ``'val'``, the loader as mmengine's runner builds it), and a sentence on what was used."""
    from backbones.deploy.hook import calibration_batches

    data = calibration_batches(cfg, source, count)
    feeds = [dict(zip(spec.names, (t.numpy() for t in example_inputs(spec, b, model)))) for b in data]
    used = f"{data.count} {source} batches" + (
        f" ({data.requested} asked for; the loader has {data.count})" if data.count < data.requested else "")
    return feeds, used


def export_int8(spec: ExportSpec, inputs: tuple[torch.Tensor, ...], out: Path,
                calibration: list[dict] | None = None) -> tuple[int, int]:
    """The float32 ONNX file in a temporary folder, quantized into ``out`` (statically with ``calibration`` feeds);
    returns (products quantized, weighted products)."""
    with tempfile.TemporaryDirectory() as folder:
        fp32 = export(spec.net, inputs, "onnx", Path(folder) / "fp32.onnx", spec.names, spec.dynamic)
        return quantize_onnx_int8(fp32, out, calibration)


def grown(t: torch.Tensor, axes: list[int]) -> torch.Tensor:
    """Images (B, C, H, W) with dynamic height and width: resized 32 pixels taller and 16 wider; other inputs as
    they are."""
    if t.dim() != 4 or not {2, 3} <= set(axes):
        return t
    return torch.nn.functional.interpolate(t, size=(t.shape[2] + 32, t.shape[3] + 16), mode="bilinear")


def _difference(got: torch.Tensor, want: torch.Tensor) -> float:
    if not want.is_floating_point():  # labels: the share of entries that differ (a near tie may flip one)
        return (got != want).float().mean().item()
    return differences(got, want)[1]


def compare_exported(fmt: str, out: Path, spec: ExportSpec, reference: nn.Module,
                     batches: list[tuple[torch.Tensor, ...]], agreement: bool = False) -> tuple[list[str], float]:
    """Run the written file on each batch (and, where its axes are dynamic beyond the batch, on a grown input)
    against ``reference``; returns one line per run and the worst relative difference (for labels: the share that
    differ). ``agreement``: also report the top-1 agreement of (B, K) logits."""
    lines, worst = [], 0.0
    for inputs in batches:
        with torch.no_grad():
            want = reference(*inputs)
        got = run_exported(fmt, out, inputs, spec.names)
        got = got.float() if got.is_floating_point() else got  # a bfloat16 file's logits
        rel = _difference(got, want)
        if not want.is_floating_point():
            lines.append(f"batch {len(inputs[0])}: output {tuple(want.shape)}, {100 * rel:.3g}% of the labels "
                         f"differ from eager")
        else:
            agree = f", top-1 agreement {(got.argmax(-1) == want.argmax(-1)).float().mean().item():.1%}" \
                if agreement and want.dim() == 2 else ""
            lines.append(f"batch {len(inputs[0])}: output {tuple(want.shape)}, max abs difference "
                         f"{differences(got, want)[0]:.3g}, max rel difference {rel:.3g} against eager{agree}")
        worst = max(worst, rel)
    axes = dynamic_axes(fmt, out)
    if axes and any(len(a) > 1 for a in axes.values()):  # a size the file claims: run it there
        inputs = tuple(grown(t, axes.get(n, [0])) for n, t in zip(spec.names, batches[0]))
        with torch.no_grad():
            want = reference(*inputs)
        rel = _difference(run_exported(fmt, out, inputs, spec.names), want)
        what = "max rel difference" if want.is_floating_point() else "share of labels"
        lines.append(f"input {tuple(inputs[0].shape)} (another size on the dynamic axes): output "
                     f"{tuple(want.shape)}, {what} {rel:.3g}")
        worst = max(worst, rel)
    return lines, worst
