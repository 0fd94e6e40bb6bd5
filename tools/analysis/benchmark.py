"""Throughput, latency, peak memory, FLOPs and the GEMM roofline of the zoo's models against their baselines
(see backbones/benchmark/cli.py; ``--help`` for the usage)."""
from backbones.benchmark.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
