"""Time one model in a process of its own: the median of N inference batches or training steps.

For A/B comparisons of two checkouts as whole processes (so that one model's allocations do not
change the other's page faults), e.g. with an interleaving timer::

    farm-bench --vs "python OLD/tools/analysis/time_step.py eamlp-7" -- python tools/analysis/time_step.py eamlp-7

Usage:
    python tools/analysis/time_step.py PRESET_OR_CONFIG [--kind deploy|plain|compiled|baseline|gemm] [--train]
        [--iters 10] [--batch 16] [--img 224] [--threads 2]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchmark  # noqa: E402  (this folder's benchmark.py: model building and the step functions)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: prints the median page faults per step, then ``median ms <value>``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", help="preset name or config file")
    parser.add_argument("--kind", default="deploy", choices=benchmark.KINDS,
                        help="our model converted for deployment, plain, converted and compiled, the baseline, "
                             "or the 2048^3 matmul rate probe")
    parser.add_argument("--train", action="store_true", help="time a training step instead of inference")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--img", type=int, default=224)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if args.iters < 1:
        parser.error(f"--iters must be at least 1, got {args.iters}")
    torch.set_num_threads(args.threads)
    step = benchmark.build_step(args.target, args.kind, args.train, args.batch, args.img)
    figures = benchmark.interleaved({"step": step}, args.iters, warmup=2)["step"]  # medians after 2 warm-ups
    print(f"page faults per step {figures.faults:.0f}")
    print(f"median ms {1000 * figures.seconds:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
