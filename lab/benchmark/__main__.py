"""``python -m lab.benchmark``: the benchmark's command line (lab/tools/benchmark.py), and its workers."""
from lab.benchmark.cli import main

raise SystemExit(main())
