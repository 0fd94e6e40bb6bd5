"""Time one model alone in this process: the median of N inference batches or training steps, optionally profiled
(see backbones/benchmark/time_step.py; ``--help`` for the usage)."""
from backbones.benchmark.time_step import main

if __name__ == "__main__":
    raise SystemExit(main())
