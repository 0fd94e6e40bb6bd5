"""Reduced precision for the deploy form: bf16 weights and activations, or int8 weights with dynamic int8
activations. One explicit pass, run by :func:`backbones.deploy.convert_to_deploy` (``precision=``) after the
conversion; nothing switches by itself.

* ``bf16``: the zoo's deploy forms (the outermost modules that define ``to_deploy`` or are deploy modules: a
  backbone, or each converted block of a backbone without a switch of its own) hold their weights and buffers in
  bfloat16 and compute in it; floating inputs are cast to bfloat16 on the way in and outputs back to float32 on the
  way out (forward hooks on those modules), so heads and necks of other libraries keep float32. PyTorch's CPU
  kernels already accumulate bfloat16 reductions in float32: softmax, LayerNorm's statistics, ``sum`` (EA's
  double normalisation) and the GEMMs' dot products.
* ``int8``: every ``nn.Linear`` of the model, the deploy forms' :func:`~backbones.deploy.base.frozen_linear` ones
  included, becomes ``torch.ao``'s dynamically quantized Linear (weights int8 per output channel, activations
  quantized per tensor at run time; fbgemm / oneDNN kernels, VNNI where the CPU has it). Weights used as matrices
  outside a Linear stay float32 and are counted by :func:`precision_summary`: FF-only's token MLP (a GEMM over the
  token axis), EA's composed memories (read in a transposed layout), Re-attention's head mixing, convolutions.

Why ``torch.ao``'s dynamic quantization (docs/benchmark.md, "Reduced precision", has the measurements): it runs in
eager mode, without compiling, on the fbgemm / oneDNN int8 kernels shipped with torch; it is the eager twin of the
ONNX path (onnxruntime's dynamic quantizer, :func:`backbones.deploy.export.quantize_onnx_int8`); PT2E needs torchao
and an inductor compile per shape, and torchao's int8 dynamic config has an open CPU-speed issue.
"""
from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn as nn

from backbones.deploy.base import DeployModule

PRECISIONS = ("fp32", "bf16", "int8")


def apply_precision(model: nn.Module, precision: str) -> nn.Module:
    """``model`` (converted, in eval mode) in ``precision``; ``fp32`` returns it unchanged.

    Returns:
        The model: converted in place for ``bf16`` and ``int8``.

    Raises:
        ValueError: an unknown precision, or ``bf16`` for a model without a deploy form (nothing to cast).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: expected one of {list(PRECISIONS)}")
    if precision == "bf16":
        regions = bf16_regions(model)
        if not regions:
            raise ValueError(f"precision 'bf16': {type(model).__name__} holds no deploy form of the zoo (no module "
                             f"with to_deploy() and no converted module); run convert_to_deploy on a zoo model")
        for module in regions:
            if getattr(module, "deploy_precision", None) == "bf16":
                continue  # converted before
            module.to(torch.bfloat16)
            module.register_forward_pre_hook(_inputs_to_bf16, with_kwargs=True)
            module.register_forward_hook(_outputs_to_fp32)
            module.deploy_precision = "bf16"
    elif precision == "int8":
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        with warnings.catch_warnings():  # torch.ao's deprecation notice (the API stays in torch 2.x)
            warnings.simplefilter("ignore")
            quantize_dynamic(model, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True)
    return model


def bf16_regions(model: nn.Module) -> list[nn.Module]:
    """The outermost modules of ``model`` that define ``to_deploy`` or are deploy modules (what ``bf16`` casts)."""
    regions: list[nn.Module] = []

    def walk(module: nn.Module) -> None:
        if isinstance(module, DeployModule) or callable(getattr(module, "to_deploy", None)):
            regions.append(module)
            return
        for child in module.children():
            walk(child)

    walk(model)
    return regions


def _cast(value: Any, dtype: torch.dtype) -> Any:
    """Floating tensors in ``value`` (nested tuples, lists, dicts) cast to ``dtype``; everything else as it is."""
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() and value.dtype != dtype else value
    if isinstance(value, (tuple, list)):
        return type(value)(_cast(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast(v, dtype) for k, v in value.items()}
    return value


def _inputs_to_bf16(module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    return _cast(args, torch.bfloat16), _cast(kwargs, torch.bfloat16)


def _outputs_to_fp32(module: nn.Module, args: tuple, output: Any) -> Any:
    return _cast(output, torch.float32)


def precision_summary(model: nn.Module) -> dict[str, Any]:
    """What the precision pass changed: ``int8_linears`` (dynamically quantized Linears), ``float_linears``
    (``nn.Linear`` left in floating point), ``float_matrices`` (names of 2-D or larger float weights outside
    Linears: GEMMs over other axes, composed memories, convolutions) and ``bf16_modules`` (the cast regions)."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    int8 = sum(isinstance(m, DynamicLinear) for m in model.modules())
    float_linears = sum(type(m) is nn.Linear for m in model.modules())
    linear_tensors = {id(t) for m in model.modules() if type(m) is nn.Linear for t in m.parameters()}
    matrices = [name for name, t in list(model.named_parameters()) + list(model.named_buffers())
                if t.is_floating_point() and t.dim() >= 2 and id(t) not in linear_tensors]
    regions = [name for name, m in model.named_modules() if getattr(m, "deploy_precision", None) == "bf16"]
    return dict(int8_linears=int8, float_linears=float_linears, float_matrices=matrices, bf16_modules=regions)
