"""A hook that kills the training process at a chosen moment (``os._exit``, like a SIGKILL: no clean-up), for
the exact-resume tests. Configs import it with
``custom_imports=dict(imports=['tests.support.kill_hook'])`` (the repository root on the path).
"""
from __future__ import annotations

import os
import sys

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

KILLED = 137


def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(KILLED)


@HOOKS.register_module()
class KillHook(Hook):
    """Die before training iteration ``at_iter`` (0-based, counted over the run), or after epoch ``after_epoch``
    once its checkpoint is written (this hook runs after the checkpoint hook)."""

    priority = "LOWEST"

    def __init__(self, at_iter: int | None = None, after_epoch: int | None = None) -> None:
        self.at_iter, self.after_epoch = at_iter, after_epoch

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:  # noqa: ANN001
        if self.at_iter is not None and runner.iter == self.at_iter:
            _die()

    def after_train_epoch(self, runner) -> None:  # noqa: ANN001
        if self.after_epoch is not None and runner.epoch + 1 == self.after_epoch:  # runner.epoch counts from 0
            _die()
