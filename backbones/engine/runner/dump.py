"""``AtomicDumpResults``: mmengine's ``DumpResults`` written atomically (tools/test.py ``--out``)."""
from __future__ import annotations

from mmengine.evaluator import DumpResults
from mmengine.fileio import dump
from mmengine.logging import print_log
from mmengine.registry import METRICS

from backbones.engine.checkpoint import atomic  # noqa: F401  (registers the atomic_local file backend)


@METRICS.register_module()
class AtomicDumpResults(DumpResults):
    """mmengine's ``DumpResults`` (predictions to a ``.pkl``) written atomically (tools/test.py ``--out``)."""

    def compute_metrics(self, results: list) -> dict:
        """Dump the predictions to ``out_file_path``; no metric."""
        dump(results, self.out_file_path, backend_args=dict(backend="atomic_local"))
        print_log(f"Results have been saved to {self.out_file_path}.", logger="current")
        return {}
