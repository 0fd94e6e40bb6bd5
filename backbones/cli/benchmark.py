"""The user benchmark: ``backbones-benchmark`` (flags and help: :func:`backbones_cli.parsers.benchmark`; the
measurements: :mod:`backbones.apis.benchmarking`). This is the installed user's benchmark; the project's comparison
with the papers' official code, in fresh processes round by round, is the lab's (``lab/tools/benchmark.py``)."""
from __future__ import annotations

import torch

from backbones.apis.timing import gemm_gflops
from backbones.utils.machine import cpu_flags, cpu_model
from backbones_cli import parsers


def main(argv: list[str] | None = None) -> int:
    """Print the machine, then each form's time; returns the exit code."""
    args = parsers.benchmark().parse_args(argv)
    if args.threads is None:
        args.threads = torch.get_num_threads()
    import backbones  # noqa: F401  (registers the zoo for configs)
    from backbones.apis.benchmarking import build_target, time_forms

    torch.set_num_threads(args.threads)
    x = torch.randn(args.batch, 3, args.img, args.img)
    probes = {p: gemm_gflops(precision=p) for p in dict.fromkeys(["fp32", *args.precisions])}
    print(f"CPU {cpu_model()}; flags {' '.join(cpu_flags()) or '-'}; {args.threads} thread(s); GEMM rate: "
          + ", ".join(f"{p} {r:.3g} G{'OP' if p == 'int8' else 'FLOP'}/s ({n}^3)" for p, (r, n) in probes.items()))
    for t in time_forms(build_target(args.target, args.img), x, args.precisions, args.calibrated, args.iters,
                        args.warmup):
        rate = t.flops / t.median / 1e6
        print(f"{args.target} {t.name}: {t.median:.1f} ms per batch of {args.batch} [{t.low:.1f}-{t.high:.1f}], "
              f"{args.batch / t.median * 1e3:.1f} images/s, {rate:.0f} GFLOP/s "
              f"({rate / probes[t.precision][0]:.0%} of the {t.precision} GEMM rate)")
    return 0


def cli() -> None:
    """The console entry point."""
    raise SystemExit(main())


if __name__ == "__main__":
    cli()
