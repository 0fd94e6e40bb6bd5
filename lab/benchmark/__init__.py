"""The speed and memory benchmark: what is timed (:mod:`.steps`), worker processes timed round by round
(:mod:`.isolation`), peak memory (:mod:`.memory`), the command line (:mod:`.cli`: lab/tools/benchmark.py,
``python -m lab.benchmark``) and one model alone (:mod:`.time_step`: lab/tools/time_step.py)."""
