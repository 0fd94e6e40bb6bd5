"""Reduced precision for the deploy form: bf16 weights and activations, or int8 weights with dynamic or calibrated
int8 activations. One explicit pass, run by :func:`backbones.deploy.convert_to_deploy` (``precision=``) after the
conversion; nothing switches by itself.

* ``bf16``: the zoo's deploy forms (the outermost modules that define ``to_deploy`` or are deploy modules: a
  backbone, or each converted block of a backbone without a switch of its own) hold their weights and buffers in
  bfloat16 and compute in it; floating inputs are cast to bfloat16 on the way in and outputs back to float32 on the
  way out (forward hooks on those modules), so heads and necks of other libraries keep float32. PyTorch's CPU
  kernels already accumulate bfloat16 reductions in float32: softmax, LayerNorm's statistics, ``sum`` (EA's
  double normalisation) and the GEMMs' dot products.
* ``int8``: every ``nn.Linear`` of the model, the deploy forms' :func:`~backbones.models.deploy.base.frozen_linear` ones
  included, becomes ``torch.ao``'s dynamically quantized Linear (weights int8 per output channel, activations
  quantized per tensor at run time; fbgemm / oneDNN kernels, VNNI where the CPU has it). Deploy modules first give
  the products their float32 layout reads as matrices as Linear modules (``DeployModule.for_precision``): FF-only's
  token MLP (a Linear over the token axis of the transposed tokens) and EA's composed memories (the map in the
  tokens' layout). Weights still used as matrices stay float32 and are counted by :func:`precision_summary`:
  Re-attention's H x H head mixing (applied to the attention maps), the T2T stem's token layers, convolutions.
* ``int8`` with ``calibrate`` (static): every ``nn.Linear`` becomes :class:`StaticInt8Linear`, torch.ao's eager
  static quantization around that one layer (``QuantStub -> Linear -> DeQuantStub``, the ``x86`` default qconfig:
  histogram-calibrated activation scales, weights per output channel); ``calibrate(model)`` runs the data that fixes
  the activation scales (:class:`~backbones.deploy.hook.DeployHook`: N batches of the config's train or val loader).
  Float32 in and out of each Linear, so every other operation keeps its precision, as in the dynamic form.

Why ``torch.ao``'s eager quantization (docs/benchmark.md, "Reduced precision", has the measurements): it runs
without compiling, on the fbgemm / oneDNN int8 kernels shipped with torch; it is the eager twin of the ONNX path
(onnxruntime's quantizers, :func:`backbones.deploy.export.quantize_onnx_int8`); PT2E needs torchao and an inductor
compile per shape. Dynamic is the default: it needs no data and follows each batch's range (so a sample's result
depends slightly on its batch); calibrated scales are fixed, batch-independent (speed and accuracy of both:
docs/benchmark.md).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from backbones.models.deploy.base import DeployModule

PRECISIONS = ("fp32", "bf16", "int8")


def apply_precision(model: nn.Module, precision: str, calibrate: Callable[[nn.Module], Any] | None = None
                    ) -> nn.Module:
    """``model`` (converted, in eval mode) in ``precision``; ``fp32`` returns it unchanged.

    Args:
        model: the deploy form.
        precision: ``fp32``, ``bf16`` or ``int8``.
        calibrate: ``int8`` only: quantize activations with scales calibrated by ``calibrate(model)`` (called once,
            without gradients, on the model with observers; it runs the calibration data through it) instead of
            dynamically at run time.

    Returns:
        The model: converted in place for ``bf16`` and ``int8``.

    Raises:
        ValueError: an unknown precision, ``bf16`` for a model without a deploy form (nothing to cast),
            ``calibrate`` with a precision other than ``int8``, or a model already in another precision
            (:func:`refuse_precision_change`; nothing is changed then).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: expected one of {list(PRECISIONS)}")
    refuse_precision_change(model, precision)
    if calibrate is not None and precision != "int8":
        raise ValueError(f"precision {precision!r}: calibration sets int8 activation scales; use precision 'int8'")
    for module in [m for m in model.modules() if isinstance(m, DeployModule)]:
        module.for_precision(precision)  # e.g. products read as matrices become Linear modules for int8
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
    elif precision == "int8" and calibrate is not None:
        _static_int8(model, calibrate)
    elif precision == "int8":
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        with warnings.catch_warnings():  # torch.ao's deprecation notice (the API stays in torch 2.x)
            warnings.simplefilter("ignore")
            quantize_dynamic(model, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True)
    return model


def model_precision(model: nn.Module) -> str:
    """The precision a previous :func:`apply_precision` left ``model`` in: ``'int8'`` (quantized Linears, or
    Linears prepared for static quantization), ``'bf16'`` (cast regions) or ``'fp32'``."""
    from torch.ao.nn.quantized import Linear as QuantizedLinear

    if any(isinstance(m, (QuantizedLinear, StaticInt8Linear)) for m in model.modules()):
        return "int8"
    if any(getattr(m, "deploy_precision", None) == "bf16" for m in model.modules()):
        return "bf16"
    return "fp32"


def refuse_precision_change(model: nn.Module, precision: str) -> None:
    """Raise ``ValueError`` when ``model`` is already in a reduced precision other than ``precision``.

    An int8 model converted to bf16 was accepted, then every forward failed (the model already changed in place):
    the conversions are one way, so a second one to another precision is refused before anything is changed.
    """
    current = model_precision(model)
    if current != "fp32" and current != precision:
        raise ValueError(f"precision {precision!r}: {type(model).__name__} is already converted to {current!r} (in "
                         f"place); the precision conversions are one way and do not combine. Convert a fresh copy of "
                         f"the plain model (e.g. load the checkpoint again) to {precision!r}")


class StaticInt8Linear(nn.Module):
    """A Linear between torch.ao's quantization stubs: float32 (..., C_in) -> (..., C_out) float32, the product in int8
    with calibrated activation scales once :func:`torch.ao.quantization.convert` has swapped the stubs and the layer
    (``Quantize`` -> ``QuantizedLinear`` -> ``DeQuantize``).

    Args:
        linear: the float layer.
    """

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        from torch.ao.quantization import DeQuantStub, QuantStub, get_default_qconfig

        self.quant, self.linear, self.dequant = QuantStub(), linear, DeQuantStub()
        self.qconfig = get_default_qconfig("x86")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., C_in) -> (..., C_out)."""
        return self.dequant(self.linear(self.quant(x)))


def _static_int8(model: nn.Module, calibrate: Callable[[nn.Module], Any]) -> None:
    """Every ``nn.Linear`` of ``model`` -> :class:`StaticInt8Linear`, observed while ``calibrate(model)`` runs, then
    converted to int8 (in place)."""
    from torch.ao.quantization import convert, prepare

    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Linear:
                setattr(parent, name, StaticInt8Linear(child))
    with warnings.catch_warnings():  # torch.ao's deprecation notice (the API stays in torch 2.x)
        warnings.simplefilter("ignore")
        prepare(model, inplace=True)
        with torch.no_grad():
            calibrate(model)
        convert(model, inplace=True)


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
    """What the precision pass changed: ``int8_linears`` (quantized Linears), ``int8_calibrated`` (those of them
    with calibrated activation scales), ``float_linears``
    (``nn.Linear`` left in floating point), ``float_matrices`` (names of 2-D or larger float weights outside
    Linears: GEMMs over other axes, composed memories, convolutions) and ``bf16_modules`` (the cast regions)."""
    from torch.ao.nn.quantized import Linear as QuantizedLinear
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    int8 = sum(isinstance(m, QuantizedLinear) for m in model.modules())  # the dynamic Linear derives from it
    calibrated = int8 - sum(isinstance(m, DynamicLinear) for m in model.modules())
    float_linears = sum(type(m) is nn.Linear for m in model.modules())
    linear_tensors = {id(t) for m in model.modules() if type(m) is nn.Linear for t in m.parameters()}
    matrices = [name for name, t in list(model.named_parameters()) + list(model.named_buffers())
                if t.is_floating_point() and t.dim() >= 2 and id(t) not in linear_tensors]
    regions = [name for name, m in model.named_modules() if getattr(m, "deploy_precision", None) == "bf16"]
    return dict(int8_linears=int8, int8_calibrated=calibrated, float_linears=float_linears, float_matrices=matrices,
                bf16_modules=regions)
