"""Fused inference kernels for the pre-norm residual branches of every block.

A block branch is ``x + f(LN(x))`` whose ``f`` starts and ends with a Linear. At inference (no
autograd, eval mode, float32 on the CPU) three fusions remove whole passes over the activations:

* the LayerNorm's affine ``(gamma, beta)`` is folded into the first Linear
  (``W' = W diag(gamma)``, ``b' = b + W beta``), so the norm itself is a bare normalisation;
* bias and GELU run in the epilogue of the first GEMM and bias plus the residual add in the epilogue
  of the last one, through oneDNN's fused linear (``torch.ops.mkldnn._linear_pointwise``, the kernel
  inductor's CPU backend emits), instead of a bias copy before the GEMM and separate GELU / add passes.

Folded weights are cached on the module until a parameter changes (tensor versions), so training,
``load_state_dict`` or an optimizer step invalidate them. A Linear with a bias alone also takes
oneDNN (bias in the epilogue instead of addmm's bias copy into the output: 13.3-14.0 against
15.0-15.2 ms for DeepViT's qkv on 2 cores; whole models 1-5% faster, paired runs); one without bias
stays on ``F.linear``, and everything falls back to it where oneDNN is missing;
:func:`fused_kernels` switches the path off for comparisons.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    _LINEAR = torch.ops.mkldnn._linear_pointwise
    _LINEAR.default  # noqa: B018  (resolves the overload: raises when the build has no oneDNN linear)
    _HAS_ONEDNN = torch.backends.mkldnn.is_available()
except (AttributeError, RuntimeError):
    _LINEAR, _HAS_ONEDNN = None, False

_ENABLED = True

if _HAS_ONEDNN:  # let torch.utils.flop_counter (benchmark.py, get_flops.py) count the fused GEMMs
    from torch.utils.flop_counter import register_flop_formula

    @register_flop_formula(_LINEAR)
    def _linear_flops(x_shape, *args, out_shape=None, **kwargs) -> int:  # noqa: ANN001, ANN002, ANN003
        return 2 * math.prod(x_shape) * out_shape[-1]  # both overloads: (x, W, ...) and (x, residual, W, ...)


@contextlib.contextmanager
def fused_kernels(enabled: bool) -> Iterator[None]:
    """Context manager that turns the fused inference path on or off (e.g. to measure its effect)."""
    global _ENABLED
    previous, _ENABLED = _ENABLED, enabled
    try:
        yield
    finally:
        _ENABLED = previous


def can_fuse(module: nn.Module, x: torch.Tensor) -> bool:
    """Whether ``module`` may take the fused path for input ``x``: inference, float32, CPU."""
    return (_ENABLED and not module.training and not torch.is_grad_enabled() and x.device.type == "cpu"
            and x.dtype == torch.float32)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, gelu: bool = False,
           residual: torch.Tensor | None = None) -> torch.Tensor:
    """``residual + act(x W^T + b)`` with bias, exact GELU and residual in the GEMM's epilogue.

    Args:
        x: (..., K) input.
        weight: (M, K).
        bias: (M,) or None.
        gelu: apply exact (erf) GELU after the bias (not combinable with ``residual``).
        residual: (..., M) tensor added to the result.

    Returns:
        (..., M), contiguous.
    """
    if gelu and residual is not None:
        raise ValueError("fused.linear: gelu and residual cannot be combined (one epilogue each)")
    lead = x.shape[:-1]
    x2 = x.reshape(-1, x.shape[-1])
    # under torch.compile inductor fuses by itself (and lowers oneDNN's linear only for constant weights)
    if _HAS_ONEDNN and (gelu or residual is not None or bias is not None) and not torch.compiler.is_compiling():
        if residual is not None:
            out = _LINEAR.binary(x2, residual.reshape(x2.shape[0], -1), weight, bias, "add")
        else:
            out = _LINEAR(x2, weight, bias, "gelu" if gelu else "none", [], "none" if gelu else "")
        return out.view(*lead, -1)
    out = F.linear(x2, weight, bias)
    if gelu:
        out = F.gelu(out)
    if residual is not None:
        out = out + residual.reshape(out.shape)
    return out.view(*lead, -1)


def cached(module: nn.Module, name: str, params: Sequence[torch.Tensor],
           build: Callable[[], tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, ...]:
    """``build()``'s tensors, cached on ``module`` until one of ``params`` changes (storage or version)."""
    store = module.__dict__.setdefault("_fused_cache", {})
    key = tuple((p.data_ptr(), p._version) for p in params)
    hit = store.get(name)
    if hit is None or hit[0] != key:
        with torch.no_grad():
            hit = store[name] = (key, tuple(t.detach() for t in build()))
    return hit[1]


def fold_affine(weight: torch.Tensor, bias: torch.Tensor, gamma: torch.Tensor,
                beta: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """A LayerNorm affine ``(gamma, beta)`` folded into the Linear ``(weight, bias)`` after it:
    ``(W diag(gamma), b + W beta)``."""
    if beta is not None:
        bias = bias + weight @ beta
    return weight * gamma, bias


def fold_norm(module: nn.Module, norm: nn.Module, fc: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
    """``fc`` with the affine of LayerNorm ``norm`` folded in (identity norms leave it unchanged).

    Cached on ``module``; the result goes with :func:`normalize`.
    """
    if not isinstance(norm, nn.LayerNorm) or not norm.elementwise_affine:
        zero = fc.weight.new_zeros(fc.out_features)
        return fc.weight, fc.bias if fc.bias is not None else zero

    def build() -> tuple[torch.Tensor, torch.Tensor]:
        bias = fc.bias if fc.bias is not None else torch.zeros_like(fc.weight[:, 0])
        return fold_affine(fc.weight, bias, norm.weight, norm.bias)

    params = [fc.weight, norm.weight] + [p for p in (fc.bias, norm.bias) if p is not None]
    return cached(module, f"fold_norm.{id(norm)}", params, build)


def normalized_linear_into(out: torch.Tensor, x: torch.Tensor, eps: float, weight: torch.Tensor,
                           bias: torch.Tensor, chunk: int = 1 << 19) -> torch.Tensor:
    """``LN(x) W^T + b`` (LayerNorm without affine over the last axis) written into ``out`` (..., M).

    Row blocks of about ``chunk`` elements: each block's ``F.layer_norm`` is a cache-sized temporary the
    allocator reuses and the GEMM reads it from cache, so no full-size normalised copy of ``x`` is written
    and read back. For EAMLP's token layers (50,176 x 147 and 12,544 x 576 -> 64 at batch 16) this took
    10 and 8 ms against 12 and 11 ms normalising into a buffer first (2 cores, micro-benchmark).
    """
    c, m = x.shape[-1], weight.shape[0]
    rows = max(1, chunk // c)
    for xs, os in zip(x.reshape(-1, c).split(rows), out.view(-1, m).split(rows)):
        torch.addmm(bias, F.layer_norm(xs, (c,), None, None, eps), weight.t(), out=os)
    return out


def normalize(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``norm(x)`` without its affine (see :func:`fold_norm`); anything but a LayerNorm is applied as is."""
    if isinstance(norm, nn.LayerNorm):
        return F.layer_norm(x, norm.normalized_shape, None, None, norm.eps)
    return norm(x)
