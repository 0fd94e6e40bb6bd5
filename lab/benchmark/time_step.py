"""Time one model in a process of its own: the median of N inference batches or training steps.

For A/B comparisons of two checkouts as whole processes (so that one model's allocations do not
change the other's page faults), e.g. with an interleaving timer::

    farm-bench --vs "python OLD/lab/tools/time_step.py eamlp-7" -- python lab/tools/time_step.py eamlp-7

Usage:
    python lab/tools/time_step.py PRESET_OR_CONFIG [--kind deploy|plain|compiled|autotuned|baseline|gemm] [--train]
        [--iters 10] [--batch 16] [--img 224] [--threads 2] [--profile]

``--profile`` then runs ``--iters`` more steps under ``torch.profiler`` and prints where the time goes:
the operators by self time, the share of the matrix products (``mm``, ``addmm``, ``bmm``, ``baddbmm``,
convolutions; not the fused attention kernel, whose FLOPs the profiler does not count) and the rate
they ran at (their FLOPs over their time), next to this machine's GEMM rate (a 2048^3 float32 matmul):
what is left between a model and its GEMM roofline is the other operators.
"""
from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from backbones.utils.machine import cpu_model
from lab.benchmark import steps
from lab.benchmark.isolation import interleaved

#: operators that are matrix products (their FLOPs are what the roofline counts).
#: PyTorch's fused attention kernel is not among them: the profiler counts no FLOPs for it.
GEMM_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::mkldnn_convolution")


def print_profile(step: object, iters: int, rows: int = 12) -> None:
    """Profile ``iters`` calls of ``step`` and print the operator table, the GEMM share and its rate."""
    probe = interleaved({"gemm": steps.gemm_step()}, 3, warmup=1)["gemm"]
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        for _ in range(iters):
            step()  # type: ignore[operator]
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    gemm = [e for e in events if e.key in GEMM_OPS]
    gemm_us = sum(e.self_cpu_time_total for e in gemm)
    gemm_flops = sum(e.flops for e in gemm)
    print(events.table(sort_by="self_cpu_time_total", row_limit=rows, max_name_column_width=48))
    rate = steps.gemm_rate(probe) / 1e9
    print(f"{cpu_model()}, GEMM rate {rate:.0f} GFLOP/s (2048^3 float32 probe)")
    print(f"matrix products: {100 * gemm_us / total:.1f}% of the operator time, "
          f"{gemm_flops / max(gemm_us, 1) / 1e3:.0f} GFLOP/s over their own time (FLOPs the profiler counts)")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: prints the median page faults per step, then ``median ms <value>``."""
    parser = argparse.ArgumentParser(prog="lab/tools/time_step.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", help="preset name or config file")
    parser.add_argument("--kind", default="deploy", choices=steps.KINDS,
                        help="our model converted for deployment, plain, converted and compiled (autotuned: with "
                             "inductor's GEMM templates), the baseline, "
                             "or the 2048^3 matmul rate probe")
    parser.add_argument("--train", action="store_true", help="time a training step instead of inference")
    parser.add_argument("--iters", type=int, default=10)
    steps.add_step_args(parser)
    parser.add_argument("--profile", action="store_true", help="then profile --iters steps (operators, GEMM share)")
    args = parser.parse_args(argv)
    if args.iters < 1:
        parser.error(f"--iters must be at least 1, got {args.iters}")
    torch.set_num_threads(args.threads)
    step = steps.build_step(args.target, args.kind, args.train, args.batch, args.img)
    figures = interleaved({"step": step}, args.iters, warmup=2)["step"]  # medians after 2 warm-ups
    print(f"page faults per step {figures.faults:.0f}")
    print(f"median ms {1000 * figures.seconds:.1f}")
    if args.profile:
        print_profile(step, args.iters)
    return 0
