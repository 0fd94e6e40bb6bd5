"""Export a network to TorchScript, ONNX or a ``torch.export`` program with a dynamic batch, and run the file back.

The exported network is any module taking one or more tensors (the task wrappers of :mod:`backbones.apis.exporting`
adapt the zoo's models: classifier logits, segmentation logits or labels at the input size, part logits given the
object category). Every input's first axis is the batch and is exported dynamic in ONNX and ``torch.export``, and
so are the axes listed in ``dynamic``, as far as the network allows (:func:`dynamic_axes` reads what the file
holds). TorchScript is traced, so its shapes generalise as far as tracing keeps them symbolic (checked by running
the file at another batch size). Files are serialized in memory, then written to a temporary sibling created like
any new file (mode 0666 minus the umask) and renamed, so a failed export leaves no partial file; a write that fails
(a full disk: torch's own zip writer would abort the process there) raises :class:`ExportWriteError` naming the
file, and leaves neither the file nor a temporary one.
"""
from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn

if TYPE_CHECKING:
    import numpy as np

#: format -> file suffix
FORMATS = {"torchscript": ".pt", "onnx": ".onnx", "exported": ".pt2"}


class ExportWriteError(OSError):
    """The exported file could not be written (a full disk, a file size limit...); names the file."""


def export(net: nn.Module, inputs: Sequence[torch.Tensor], fmt: str, path: str | Path,
           names: Sequence[str] = ("inputs",), dynamic: dict[str, dict[int, str]] | None = None) -> Path:
    """Write ``net`` (eval mode, no autograd) traced at ``inputs`` to ``path`` in format ``fmt``.

    Args:
        net: the network, ``net(*inputs) -> tensor``.
        inputs: example inputs, one tensor each; their first axis is the batch.
        fmt: a key of :data:`FORMATS`.
        path: the file to write.
        names: the inputs' names (ONNX input names; keys of ``dynamic``).
        dynamic: more dynamic axes per input, e.g. ``{'inputs': {2: 'height', 3: 'width'}}``.

    Raises:
        ValueError: an unknown format, or as many names as inputs not given.
        ExportWriteError: the file could not be written (``path`` is left as it was, no temporary file is left).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; formats: {sorted(FORMATS)}")
    inputs = tuple(inputs)
    if len(names) != len(inputs):
        raise ValueError(f"export: {len(inputs)} inputs but {len(names)} names {list(names)}")
    axes = {n: {0: "batch", **(dynamic or {}).get(n, {})} for n in names}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    net = net.eval()
    try:
        data = _write(net, inputs, fmt, names, axes)
    except Exception as e:  # torch.export could not keep the extra axes symbolic: batch alone, said so
        if all(list(ax) == [0] for ax in axes.values()) or fmt == "torchscript":
            raise
        warnings.warn(f"export: the axes {dynamic} could not stay dynamic ({type(e).__name__}: "
                      f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}); exported with a dynamic "
                      f"batch only", stacklevel=2)
        data = _write(net, inputs, fmt, names, {n: {0: "batch"} for n in names})
    from backbones.utils.files import write_atomic

    try:  # Python's write raises where torch's C++ writer aborts the process (c10::Error "unexpected pos")
        write_atomic(data, path)
    except OSError as e:
        raise ExportWriteError(e.errno, f"cannot write the exported model {path} ({len(data)} bytes): "
                                        f"{e.strerror or e}") from e
    return path


def _write(net: nn.Module, inputs: tuple[torch.Tensor, ...], fmt: str, names: Sequence[str],
           axes: dict[str, dict[int, str]]) -> bytes:
    """The file's bytes, serialized in memory."""
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape checks traced as constants
        if fmt == "torchscript":
            torch.jit.save(torch.jit.trace(net, inputs, check_trace=False), buf)
            return buf.getvalue()
        # Dim.AUTO: dynamic where the network allows it (a shape-dependent branch bounds the range, a size the
        # network needs is kept static); dynamic_axes() reads what the file holds. (A named Dim('batch') is
        # refused where the network relates the batch to another size, e.g. a point model's B*N: the ONNX file's
        # batch symbol is renamed afterwards instead, _name_batch_axis.)
        shapes = {_arg_names(net, len(inputs))[i]: {a: torch.export.Dim.AUTO for a in axes[n]}
                  for i, n in enumerate(names)}
        program = torch.export.export(net, inputs, dynamic_shapes=shapes)
        if fmt == "exported":
            torch.export.save(program, buf)
        else:  # from the program, so the ONNX graph keeps exactly the axes torch.export proved dynamic
            onnx_program = torch.onnx.export(program, inputs, None, input_names=list(names),
                                             output_names=["outputs"], dynamo=True, verbose=False)
            buf.write(_name_batch_axis(onnx_program.model_proto).SerializeToString())
    return buf.getvalue()


#: the ONNX operators whose constant weights onnxruntime's dynamic quantizer makes int8.
QUANTIZABLE = ("MatMul", "Gemm")


def quantize_onnx_int8(src: str | Path, dst: str | Path,
                       calibration: Iterable[dict[str, np.ndarray]] | None = None) -> tuple[int, int]:
    """An int8 ONNX file from a float32 one, through onnxruntime's quantizer; written atomically. The deploy form
    holds its linears as constant matrices, so each becomes a quantized product.

    * Without ``calibration``: ``quantize_dynamic``: weights int8 per output channel, activations quantized per
      batch at run time (``DynamicQuantizeLinear`` + ``MatMulInteger``).
    * With ``calibration`` (input feeds, name -> array): ``quantize_static`` in the QDQ format: weights int8 per
      output channel, the products' activations uint8 with scales calibrated (min-max) on those feeds; only the
      products (``MatMul``, ``Gemm``) are quantized, everything else stays float32 as in the eager int8 form.

    Weights use 7 of their 8 bits (``reduce_range``): onnxruntime multiplies uint8 activations by int8 weights with
    16-bit pair sums on CPUs without VNNI (AVX2), which saturate with full-range weights - a trained point-cloud
    model's file differed from float32 by 0.45-0.65 (relative) with 8 bits, 0.03 with 7.

    Returns:
        (products quantized, products with a constant weight in ``src``): what stayed float is the difference.

    Raises:
        ExportWriteError: ``dst`` cannot be written (the file named, nothing left).
    """
    import tempfile

    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    from backbones.utils.files import write_atomic

    model = onnx.load(str(src))
    constants = {i.name for i in model.graph.initializer}
    weighted = sum(n.op_type in QUANTIZABLE and any(i in constants for i in n.input) for n in model.graph.node)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder) / "int8.onnx"
        if calibration is None:
            quantize_dynamic(str(src), str(tmp), per_channel=True, reduce_range=True, weight_type=QuantType.QInt8)
        else:
            quantize_static(str(src), str(tmp), _Feeds(calibration), quant_format=QuantFormat.QDQ, per_channel=True,
                            reduce_range=True, weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                            op_types_to_quantize=list(QUANTIZABLE))
        data = tmp.read_bytes()
        quantized = _quantized_products(onnx.load(str(tmp)).graph)
    try:
        write_atomic(data, dst)
    except OSError as e:
        raise ExportWriteError(e.errno, f"cannot write the int8 model {dst} ({len(data)} bytes): "
                                        f"{e.strerror or e}") from e
    return quantized, weighted


def _quantized_products(graph: Any) -> int:
    """Integer products of a quantized graph: dynamic (``MatMulInteger``, ``DynamicQuantizeMatMul``) or QDQ (a
    ``MatMul`` / ``Gemm`` reading a weight through ``DequantizeLinear`` of a constant)."""
    constants = {i.name for i in graph.initializer}
    dequantized = {n.output[0] for n in graph.node if n.op_type == "DequantizeLinear" and n.input[0] in constants}
    return sum(n.op_type in ("MatMulInteger", "DynamicQuantizeMatMul")
               or (n.op_type in QUANTIZABLE and any(i in dequantized for i in n.input)) for n in graph.node)


class _Feeds:
    """onnxruntime's ``CalibrationDataReader`` protocol over a list of feeds."""

    def __init__(self, feeds: Iterable[dict[str, np.ndarray]]) -> None:
        self._feeds = iter(list(feeds))

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def _name_batch_axis(model: Any) -> Any:
    """An ONNX model with its batch symbol (the tracer's ``s77``: the first input's axis 0) renamed ``batch`` in
    every input, output and intermediate shape."""
    dims = model.graph.input[0].type.tensor_type.shape.dim
    old = dims[0].dim_param if dims else ""
    if not old:
        return model
    symbol = re.compile(rf"\b{re.escape(old)}\b")  # also inside expressions such as 's77*512'
    for value in (*model.graph.input, *model.graph.output, *model.graph.value_info):
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_param = symbol.sub("batch", dim.dim_param)
    return model


def _arg_names(net: nn.Module, count: int) -> list[str]:
    """The names of ``net.forward``'s first ``count`` parameters (``dynamic_shapes`` is keyed by them)."""
    import inspect

    params = [p for p in inspect.signature(net.forward).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [p.name for p in params[:count]]


def dynamic_axes(fmt: str, path: str | Path) -> dict[str, list[int]] | None:
    """The dynamic axes of each input of an exported file (ONNX and ``torch.export``); None for TorchScript (traced:
    no record of them)."""
    if fmt == "onnx":
        import onnx

        graph = onnx.load(str(path), load_external_data=False).graph
        return {i.name: [a for a, d in enumerate(i.type.tensor_type.shape.dim) if not d.HasField("dim_value")]
                for i in graph.input}
    if fmt == "exported":
        program = torch.export.load(str(path))
        out = {}
        for spec, node in zip(program.graph_signature.input_specs, program.graph.nodes):
            if spec.kind == torch.export.graph_signature.InputKind.USER_INPUT:
                out[spec.arg.name] = [a for a, d in enumerate(node.meta["val"].shape) if not isinstance(d, int)]
        return out
    return None


def run_exported(fmt: str, path: str | Path, inputs: Sequence[torch.Tensor],
                 names: Sequence[str] = ("inputs",)) -> torch.Tensor:
    """Load an exported file and run it on ``inputs`` (ONNX with onnxruntime on the CPU)."""
    path, inputs = str(path), tuple(inputs)
    if fmt == "torchscript":
        with torch.no_grad():
            return torch.jit.load(path)(*inputs)
    if fmt == "exported":
        with torch.no_grad():
            return torch.export.load(path).module()(*inputs)
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        return torch.from_numpy(session.run(None, {n: t.numpy() for n, t in zip(names, inputs)})[0])
    raise ValueError(f"unknown export format {fmt!r}; formats: {sorted(FORMATS)}")


def differences(got: torch.Tensor, want: torch.Tensor) -> tuple[float, float]:
    """(max absolute difference, max absolute difference relative to max |want|); non-finite entries (masked
    logits) must sit at the same places and are left out."""
    if got.shape != want.shape:
        raise ValueError(f"exported output of shape {tuple(got.shape)}, eager {tuple(want.shape)}")
    finite = torch.isfinite(want)
    if not torch.equal(finite, torch.isfinite(got)):
        return float("inf"), float("inf")
    got, want = got.float()[finite], want.float()[finite]
    if want.numel() == 0:
        return 0.0, 0.0
    diff = (got - want).abs().max().item()
    return diff, diff / max(want.abs().max().item(), 1e-12)
