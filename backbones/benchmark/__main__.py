"""``python -m backbones.benchmark``: the benchmark's command line (tools/analysis/benchmark.py), and its workers."""
from .cli import main

raise SystemExit(main())
