"""Time a preset or an image config on this machine, plain and deploy form (median ms per batch, images/s, share of
the float32 GEMM rate; CPU, flags and threads printed).

The tool is :mod:`backbones.cli.benchmark` (``python -m backbones.cli.benchmark --help``, console script
``backbones-benchmark``); this file runs it. The comparison with the official code is the lab's
(``lab/tools/benchmark.py``).
"""
from backbones.cli.benchmark import cli, main  # noqa: F401  (main: the tests call it)

if __name__ == "__main__":
    cli()
