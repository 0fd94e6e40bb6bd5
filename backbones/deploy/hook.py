"""``DeployHook``: test a config's model in its deploy form (``tools/test.py --deploy``, or in a config)."""
from __future__ import annotations

import copy
import itertools
import statistics
import time
from collections.abc import Iterator

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from backbones.deploy.compile import compile_for_inference
from backbones.deploy.convert import convert_to_deploy
from backbones.deploy.options import DeployOptions
from backbones.deploy.precision import precision_summary


class CalibrationBatches:
    """The calibration batches of int8: iterable (the first :attr:`count` batches of :attr:`loader`), with how many
    were asked for (:attr:`requested`) and how many are read (:attr:`count`)."""

    def __init__(self, loader, requested: int, count: int, split: str) -> None:  # noqa: ANN001
        self.loader, self.requested, self.count, self.split = loader, requested, count, split

    def __iter__(self) -> Iterator[dict]:
        return itertools.islice(iter(self.loader), self.count)

    def describe(self) -> str:
        """``'N batches of the split loader'``, and the request when it was capped."""
        capped = f" ({self.requested} asked for; the loader has {self.count})" if self.count < self.requested else ""
        return f"{self.count} batches of the {self.split} loader{capped}"


def _is_infinite(loader) -> bool:  # noqa: ANN001
    from mmengine.dataset import InfiniteSampler

    sampler = getattr(getattr(loader, "batch_sampler", None), "sampler", None) or getattr(loader, "sampler", None)
    return isinstance(sampler, InfiniteSampler)


def calibration_batches(cfg, split: str, count: int, seed: int | None = 0) -> CalibrationBatches:  # noqa: ANN001
    """The first ``count`` batches of the config's ``split`` loader (``'train'`` or ``'val'``), built as mmengine's
    runner builds it (its sampler seeded by ``seed``, its workers and collate function): the calibration data of
    int8 (:class:`DeployHook`, the export tool's ``--calibrate``).

    A finite loader gives at most its length: ``count`` is capped there (:attr:`CalibrationBatches.count` says
    how many are read). An infinite sampler (a GAN's ``SeedTaggedInfiniteSampler``) never ends: ``count`` must then
    be at most one pass over its set (its ``len``), else the request is refused (``--calibrate 100000`` on a GAN
    read batches for about 21 hours).

    Raises:
        ValueError: the config has no such loader, its data folder is missing or its set is empty (the message names
            it), or ``count`` exceeds one pass of an infinite sampler.
    """
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    key = f"{split}_dataloader"
    if not cfg.get(key):
        raise ValueError(f"calibration reads the {split} set, but the config has no {key}")
    root = cfg[key].get("dataset", {}).get("data_root")
    with DefaultScope.overwrite_default_scope(cfg.get("default_scope")):
        try:
            loader = Runner.build_dataloader(copy.deepcopy(cfg[key]), seed=seed)
        except FileNotFoundError as e:
            raise ValueError(f"calibration reads the {split} set of the config (data_root {root}), which cannot be "
                             f"read: {e}") from None
    if len(loader.dataset) == 0:
        raise ValueError(f"calibration reads the {split} set of the config ({root}), which is empty")
    one_pass = len(loader)
    if _is_infinite(loader) and count > one_pass:
        raise ValueError(f"calibration reads the {split} loader, whose sampler ({type(loader.sampler).__name__}) "
                         f"never ends: {count} batches is more than one pass over its {len(loader.dataset)} samples "
                         f"({one_pass} batches); ask for at most {one_pass}, or calibrate from a finite loader "
                         f"(--calibrate-from val)")
    return CalibrationBatches(loader, count, min(count, one_pass), split)


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
        calibrate: with ``int8``: 0 quantizes activations dynamically; N > 0 calibrates their scales on the first N
            batches of the config's ``calibrate_from`` loader (``tools/test.py --calibrate N``), each run through the
            model's ``test_step`` as the test loop runs it; capped at a finite loader's length (the log says how
            many were used), refused beyond one pass of an infinite sampler (:func:`calibration_batches`).
        calibrate_from: ``'train'`` (default: the data the model was fitted on) or ``'val'``.
    """

    priority = "VERY_HIGH"

    def __init__(self, compile: bool = False, autotune: bool = False,  # noqa: A002  (the user's word)
                 precision: str = "fp32", calibrate: int = 0, calibrate_from: str = "train") -> None:
        try:
            self.options = DeployOptions(precision, calibrate, calibrate_from, compile, autotune)
        except ValueError as e:
            raise ValueError(f"DeployHook: {e}") from None
        self.compile, self.autotune, self.precision = compile, autotune, precision
        self.calibrate, self.calibrate_from = calibrate, calibrate_from
        self._times: list[float] = []
        self._start = 0.0
        self._used: CalibrationBatches | None = None

    def before_test(self, runner) -> None:  # noqa: ANN001
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        convert_to_deploy(model, self.precision, self._calibration(runner) if self.calibrate else None)
        summary = precision_summary(model)
        regions = ", ".join(n or "(the model)" for n in summary["bf16_modules"])
        activations = (f"activation scales calibrated on {self._used.describe()}" if self.calibrate
                       else "activations quantized at run time")
        detail = {"fp32": "", "bf16": f", in bfloat16: {regions}",
                  "int8": f", {summary['int8_linears']} Linears int8 ({summary['float_linears']} left in float; "
                          f"{activations})"}
        runner.logger.info("DeployHook: model converted to its deploy form (backbones.deploy.convert_to_deploy)"
                           + detail[self.precision])
        if self.compile:
            compile_for_inference(model, autotune=self.autotune)
            runner.logger.info("DeployHook: compiled with torch.compile (inductor, freezing"
                               + (", GEMM autotuning" if self.autotune else "") + "); the first batch compiles")

    def _calibration(self, runner):  # noqa: ANN001, ANN202
        """``calibrate(model)``: the first ``self.calibrate`` batches of the ``calibrate_from`` loader through
        ``model.test_step``."""
        batches = self._used = calibration_batches(runner.cfg, self.calibrate_from, self.calibrate, seed=runner.seed)

        def calibrate(model) -> None:  # noqa: ANN001
            for batch in batches:
                model.test_step(batch)
        return calibrate

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
