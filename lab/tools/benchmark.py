"""Throughput, latency, peak memory, FLOPs and the GEMM roofline of the zoo's models against their baselines
(see lab/benchmark/cli.py; ``--help`` for the usage)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: the lab is not installed

from lab.benchmark.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
