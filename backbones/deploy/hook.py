"""``DeployHook``: test a config's model in its deploy form (``tools/test.py --deploy``, or in a config)."""
from __future__ import annotations

import statistics
import time

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from backbones.deploy.compile import compile_for_inference
from backbones.deploy.convert import convert_to_deploy
from backbones.deploy.precision import PRECISIONS, precision_summary


@HOOKS.register_module()
class DeployHook(Hook):
    """Convert the runner's model with :func:`convert_to_deploy` before testing (after the checkpoint is loaded),
    and with ``compile=True`` compile it (:func:`~backbones.deploy.compile.compile_for_inference`).

    Only ``runner.test()`` is affected: training and the validation inside training use the plain model.
    Usable with any OpenMMLab test tool: ``custom_hooks = [dict(type='DeployHook', compile=True)]``. With
    ``compile``, the first test batch compiles: its time is logged apart from the later batches' median.

    Args:
        compile: also compile the converted model (``tools/test.py --compile``).
        autotune: compile with inductor's GEMM templates too (much longer compilation).
        precision: ``fp32``, ``bf16`` or ``int8`` (``tools/test.py --precision``; :mod:`backbones.deploy.precision`).
    """

    priority = "VERY_HIGH"

    def __init__(self, compile: bool = False, autotune: bool = False,  # noqa: A002  (the user's word)
                 precision: str = "fp32") -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"DeployHook: precision {precision!r}: expected one of {list(PRECISIONS)}")
        self.compile, self.autotune, self.precision = compile, autotune, precision
        self._times: list[float] = []
        self._start = 0.0

    def before_test(self, runner) -> None:  # noqa: ANN001
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        convert_to_deploy(model, self.precision)
        summary = precision_summary(model)
        regions = ", ".join(n or "(the model)" for n in summary["bf16_modules"])
        detail = {"fp32": "", "bf16": f", in bfloat16: {regions}",
                  "int8": f", {summary['int8_linears']} Linears int8 ({summary['float_linears']} left in float)"}
        runner.logger.info("DeployHook: model converted to its deploy form (backbones.deploy.convert_to_deploy)"
                           + detail[self.precision])
        if self.compile:
            compile_for_inference(model, autotune=self.autotune)
            runner.logger.info("DeployHook: compiled with torch.compile (inductor, freezing"
                               + (", GEMM autotuning" if self.autotune else "") + "); the first batch compiles")

    def before_test_iter(self, runner, batch_idx: int, data_batch=None) -> None:  # noqa: ANN001
        self._start = time.perf_counter()

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:  # noqa: ANN001
        self._times.append(time.perf_counter() - self._start)

    def after_test_epoch(self, runner, metrics=None) -> None:  # noqa: ANN001
        if self.compile and self._times:
            later = f", later batches {1000 * statistics.median(self._times[1:]):.1f} ms median" \
                if len(self._times) > 1 else ""
            runner.logger.info(f"DeployHook: first batch (compilation included) {self._times[0]:.1f} s{later}")
        self._times = []
