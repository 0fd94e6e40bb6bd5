"""The speed and memory benchmark: what is timed (:mod:`.steps`), worker processes timed round by round
(:mod:`.isolation`), peak memory (:mod:`.memory`), the command line (:mod:`.cli`: tools/analysis/benchmark.py,
``python -m backbones.benchmark``) and one model alone (:mod:`.time_step`: tools/analysis/time_step.py)."""
