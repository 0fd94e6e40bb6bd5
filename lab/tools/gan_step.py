"""One GAN training iteration of a generation config: FLOPs, time, FLOP rate against the GEMM rate (see
lab/benchmark/gan_step.py; ``--help`` for the usage)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: the lab is not installed

from lab.benchmark.gan_step import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
