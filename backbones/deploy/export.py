"""Export a model (plain or converted) to TorchScript, ONNX or a ``torch.export`` program, and run the file back.

The exported function is ``model(inputs, mode='tensor')`` for OpenMMLab models (or ``model(inputs)``
for a bare module) in eval mode under ``torch.no_grad()``: preprocessed inputs (the data preprocessor's
normalised batch) to the network's raw outputs (logits). Files are written to a temporary sibling and
renamed, so a failed export leaves no partial file.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import torch
import torch.nn as nn

#: format -> file suffix
FORMATS = {"torchscript": ".pt", "onnx": ".onnx", "exported": ".pt2"}


class TensorForward(nn.Module):
    """``model(inputs, mode='tensor')`` (OpenMMLab models) or ``model(inputs)`` as one tensor: the first
    entry of a tuple or list output."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.mode = "data_preprocessor" in dict(model.named_children())

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Preprocessed inputs -> raw outputs."""
        out = self.model(inputs, mode="tensor") if self.mode else self.model(inputs)
        while isinstance(out, (tuple, list)):
            out = out[-1]
        return out


def export(model: nn.Module, inputs: torch.Tensor, fmt: str, path: str | Path) -> Path:
    """Write ``model`` (eval mode, no autograd) traced at ``inputs`` to ``path`` in format ``fmt``.

    Raises:
        ValueError: an unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; formats: {sorted(FORMATS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    net = TensorForward(model).eval()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{FORMATS[fmt]}", dir=path.parent)
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape checks traced as constants
            if fmt == "torchscript":
                torch.jit.save(torch.jit.trace(net, inputs, check_trace=False), tmp)
            elif fmt == "exported":
                torch.export.save(torch.export.export(net, (inputs,)), tmp)
            else:
                torch.onnx.export(net, (inputs,), tmp, input_names=["inputs"], output_names=["outputs"],
                                  dynamo=True, external_data=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def run_exported(fmt: str, path: str | Path, inputs: torch.Tensor) -> torch.Tensor:
    """Load an exported file and run it on ``inputs`` (ONNX with onnxruntime on the CPU)."""
    path = str(path)
    if fmt == "torchscript":
        with torch.no_grad():
            return torch.jit.load(path)(inputs)
    if fmt == "exported":
        with torch.no_grad():
            return torch.export.load(path).module()(inputs)
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        return torch.from_numpy(session.run(None, {"inputs": inputs.numpy()})[0])
    raise ValueError(f"unknown export format {fmt!r}; formats: {sorted(FORMATS)}")


def differences(got: torch.Tensor, want: torch.Tensor) -> tuple[float, float]:
    """(max absolute difference, max absolute difference relative to max |want|)."""
    diff = (got.float() - want.float()).abs().max().item()
    return diff, diff / max(want.abs().max().item(), 1e-12)
