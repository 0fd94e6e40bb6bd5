"""Time one model alone in this process: the median of N inference batches or training steps, optionally profiled
(see lab/benchmark/time_step.py; ``--help`` for the usage)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: the lab is not installed

from lab.benchmark.time_step import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
