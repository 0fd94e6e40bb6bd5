"""Timing on this machine: the median of repeated calls and the GEMM rate of a precision (the roofline of that
precision's figures), shared by the user benchmark and the lab's."""
from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn as nn

GEMM_N = 2048


def median_ms(fn: Callable[[], object], iters: int, warmup: int) -> tuple[float, float, float]:
    """(median, min, max) milliseconds of ``fn()`` over ``iters`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), min(times), max(times)


def gemm_gflops(iters: int = 5, precision: str = "fp32") -> tuple[float, int]:
    """The GEMM rate of this process in ``precision`` (median of n^3 products), GFLOP/s (GOP/s for int8): the
    roofline of that precision's figures; and n. float32: ``torch.mm``; bf16 and int8: the product the deploy form's
    Linears run (``F.linear`` on bfloat16 tensors; the dynamically quantized Linear, float in and out, activations
    quantized per call). n is :data:`GEMM_N`, or 512 where a 512^3 product already takes over 50 ms (no hardware
    for that precision: without avx512_bf16 / AMX, bf16 products ran 5-60x slower than float32 on an AVX2 EPYC,
    and a 2048^3 probe would take minutes)."""
    def product(n: int) -> Callable[[], object]:
        if precision == "int8":
            from backbones.deploy.precision import apply_precision

            layer = apply_precision(nn.Sequential(nn.Linear(n, n, bias=False)).eval(), "int8")
            return functools.partial(layer, torch.randn(n, n))
        if precision == "bf16":
            return functools.partial(nn.functional.linear, *(torch.randn(n, n, dtype=torch.bfloat16) for _ in "ab"))
        return functools.partial(torch.mm, torch.randn(n, n), torch.randn(n, n))

    small, _, _ = median_ms(product(512), 1, 1)
    n = GEMM_N if small < 50 else 512
    med, _, _ = median_ms(product(n), iters if n == GEMM_N else 2, 2 if n == GEMM_N else 0)
    return 2 * n ** 3 / med / 1e6, n
