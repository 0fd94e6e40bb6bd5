"""The lab: what produces the project's tables, studies, benchmarks and parity references. It imports the library
(:mod:`backbones`) and runs its tools; the library never imports it. Not installed: run it from the checkout's root
(``python -m lab.study ...``, ``python -m lab.benchmark ...``, ``python lab/train_table.py ...``)."""
