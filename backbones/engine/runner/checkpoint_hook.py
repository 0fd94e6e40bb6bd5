"""Checkpoints that survive a kill or a full disk at any instant, and the checkpoint ``--resume`` continues from.

mmengine 0.10.7's ``CheckpointHook`` deletes the oldest checkpoint (``max_keep_ckpts``) and the previous
best one before it writes the new one, writes ``last_checkpoint`` in place (``open(..., 'w')``) and the
checkpoint itself through the plain local backend: a kill or ``ENOSPC`` inside a save can leave no
checkpoint, a truncated one, or an empty ``last_checkpoint``. :class:`AtomicCheckpointHook` keeps
mmengine's options and file names and changes the order and the writes:

1. the new checkpoint is written atomically (``atomic_local`` backend: temporary file, fsync, rename);
2. ``last_checkpoint`` is replaced atomically to name it;
3. only then are the checkpoints beyond ``max_keep_ckpts`` (and a superseded best one) removed.

At every instant the folder holds a complete checkpoint and ``last_checkpoint`` names a complete one.
Before training, temporary files of killed writes are removed, and so are numbered checkpoints older
than the ones the resumed run keeps (left when a kill fell between steps 2 and 3), and, in a resumed run, best
checkpoints beyond the one per metric the run's state names (a new run never removes best files it did not write:
they may be another run's). A best checkpoint saved after the numbered checkpoint a
run resumes from (a kill between the two saves) is not named by that state: it is removed once the
resumed run saves its own best checkpoint of the metric, so a run ends with exactly one per metric.
"""
from __future__ import annotations

import contextlib
import os.path as osp
import re
from collections.abc import Iterator
from pathlib import Path

from mmengine.dist import barrier, is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from backbones.engine.checkpoint.pretrained import (
    DEFAULT_MIN_SHARE,
    QUIET_LOGGER,
    check_load_from,
    log_load,
    report_load,
)
from backbones.engine.checkpoint.resume import is_remote, resume_checkpoint
from backbones.utils.files import remove_stale_temporaries, write_text_atomic

#: the file backend of the zoo's checkpoints (registered in :mod:`backbones.engine.checkpoint.atomic`).
ATOMIC_BACKEND = dict(backend="atomic_local")


@contextlib.contextmanager
def interrupts_kept() -> Iterator[None]:
    """Let a Ctrl-C stay a ``KeyboardInterrupt``.

    mmengine's ``Config.pretty_text`` (which every checkpoint save calls to store the config, and the runner to log
    and dump it) formats the text with yapf inside a bare ``except:`` that turns any exception, a
    ``KeyboardInterrupt`` included, into ``SyntaxError: Failed to format the config file``: a Ctrl-C during a save
    (yapf takes most of a small checkpoint's save time) was reported as a broken config. This turns that
    ``SyntaxError`` back into the ``KeyboardInterrupt`` it replaced; any other error passes unchanged.
    """
    try:
        yield
    except SyntaxError as e:
        if isinstance(e.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt("interrupted while mmengine formatted the config (for a checkpoint or the log); "
                                    "the config is fine") from None
        raise


class _DeferredRemoval:
    """A file backend whose ``remove`` / ``rmtree`` only record the path (run them later with :meth:`flush`)."""

    def __init__(self, backend) -> None:  # noqa: ANN001
        self.backend, self.paths = backend, []

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.backend, name)

    def remove(self, path: str) -> None:
        self.paths.append(path)

    def rmtree(self, path: str) -> None:
        self.paths.append(path)

    def flush(self, keep: set[str]) -> None:
        for path in self.paths:
            if path in keep:
                continue
            if self.backend.isfile(path):
                self.backend.remove(path)
            elif self.backend.isdir(path):
                self.backend.rmtree(path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments) with crash-safe saving: see the module docstring.

    ``backend_args`` defaults to the ``atomic_local`` backend; another backend (object storage) is used
    as given. ``load_from_min_share``: when a run loads ``load_from`` (not a resume), the checkpoint mmengine read must
    fill at least this share of the model's keys (:func:`~backbones.engine.checkpoint.pretrained.check_load_from`),
    else the run stops naming the file and the keys, instead of training from scratch; 0 allows any partial load.
    The load is logged in one line (tensors loaded of the model's, tables resized, keys left at init, unexpected).
    """

    def __init__(self, *args, backend_args: dict | None = None, load_from_min_share: float = DEFAULT_MIN_SHARE,
                 **kwargs) -> None:  # noqa: ANN002, ANN003
        if backend_args is None and kwargs.get("file_client_args") is None:
            backend_args = dict(ATOMIC_BACKEND)
        super().__init__(*args, backend_args=backend_args, **kwargs)
        self.load_from_min_share = load_from_min_share

    def before_run(self, runner) -> None:  # noqa: ANN001
        """Before a resumed run loads its checkpoint: a given path must be a local file (a URL or another scheme is an
        error); without one, mmengine resumes from what ``work_dir/last_checkpoint`` names, and when that is not a
        complete local checkpoint (:func:`~backbones.engine.checkpoint.resume_checkpoint`) the file is rewritten,
        atomically and with a warning, to name the newest complete one. Only the run's config and its files are
        read or written."""
        super().before_run(runner)
        if not runner.cfg.get("resume", False):
            return
        target = runner.cfg.get("load_from")
        if target is not None:
            if is_remote(target):
                raise ValueError(f"resume from {target}: a run resumes only from local checkpoints (download it, "
                                 f"or load its weights with load_from / init_cfg instead)")
            return
        path, warning = resume_checkpoint(runner.work_dir)
        if warning and is_main_process():
            runner.logger.warning(f"resume: {warning}")
            write_text_atomic(str(path), osp.join(runner.work_dir, "last_checkpoint"))
        barrier()  # every rank reads last_checkpoint after the main process repaired it

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:  # noqa: ANN001
        """A ``load_from`` checkpoint, read by mmengine and not yet in the model (not a resume): refused below
        :attr:`load_from_min_share` of the model's keys or with tensors of another kind of dtype; else loaded here
        (as mmengine then loads it again, leniently) and reported in one log line."""
        if runner.cfg.get("resume", False):
            return
        model = runner.model.module if hasattr(runner.model, "module") else runner.model
        source = str(runner.cfg.get("load_from"))
        state = check_load_from(model, checkpoint, source, self.load_from_min_share)
        from mmengine.runner.checkpoint import load_state_dict

        log_load(report_load(model, state, f"{source} (load_from)",
                             lambda: load_state_dict(model, state, strict=False, logger=QUIET_LOGGER)))

    def before_train(self, runner) -> None:  # noqa: ANN001
        """mmengine's set-up, then remove what a killed save left behind (main process only)."""
        super().before_train(runner)
        if not is_main_process() or self.backend_args != ATOMIC_BACKEND:
            return
        ours = re.compile(r"(.+\.pth|last_checkpoint)")
        for folder in {self.out_dir, runner.work_dir}:
            for path in remove_stale_temporaries(folder, ours):
                runner.logger.warning(f"removed {path}, left by an interrupted checkpoint write")
        if self.max_keep_ckpts > 0 and len(self.keep_ckpt_ids) and Path(self.out_dir).is_dir():
            oldest = min(self.keep_ckpt_ids)
            pattern = re.compile(re.escape(self.filename_tmpl).replace(r"\{\}", r"(\d+)") + "$")
            for entry in Path(self.out_dir).iterdir():
                m = pattern.match(entry.name)
                if m and int(m.group(1)) < oldest and entry.is_file():
                    entry.unlink()
                    runner.logger.warning(f"removed {entry}: older than the {self.max_keep_ckpts} checkpoints kept "
                                          f"(max_keep_ckpts), left by an interrupted save")
        if self.save_best is not None and getattr(runner, "_resume", False):
            recorded = {str(v) for k, v in runner.message_hub.runtime_info.items() if k.startswith("best_ckpt") and v}
            self._remove_surplus_best(runner, recorded)

    def _remove_surplus_best(self, runner, recorded: set[str]) -> None:  # noqa: ANN001
        """Remove the best checkpoints beyond one per metric, keeping the ``recorded`` ones (local backend only)."""
        if self.backend_args != ATOMIC_BACKEND or not Path(self.out_dir).is_dir():
            return
        for entry in surplus_best_checkpoints(Path(self.out_dir), recorded):
            entry.unlink()
            runner.logger.warning(f"removed {entry}: a second best checkpoint of its metric, left by an "
                                  f"interrupted replacement (the run keeps one per metric)")

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:  # noqa: ANN001
        """Save the checkpoint of ``step``, point ``last_checkpoint`` at it, then drop the surplus ones."""
        outdated = None
        if self.max_keep_ckpts > 0 and not (len(self.keep_ckpt_ids) and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info("keep_ckpt_ids", list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info("last_ckpt", self.last_ckpt)
        with interrupts_kept():
            runner.save_checkpoint(self.out_dir, filename, self.file_client_args, save_optimizer=self.save_optimizer,
                                   save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
                                   backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        write_text_atomic(str(self.last_ckpt), osp.join(runner.work_dir, "last_checkpoint"))
        if outdated is not None and outdated != step:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(outdated))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                self.file_backend.rmtree(path)

    def _save_best_checkpoint(self, runner, metrics: dict) -> None:  # noqa: ANN001
        """mmengine's best-checkpoint logic, with the superseded best file removed after the new one is saved."""
        backend = self.file_backend
        deferred = self.file_backend = _DeferredRemoval(backend)
        try:
            with interrupts_kept():
                super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
        if is_main_process():
            current = {getattr(self, "best_ckpt_path", None), *getattr(self, "best_ckpt_path_dict", {}).values()}
            deferred.flush(keep={str(p) for p in current if p})
            # a best file the hook's state does not name (a kill after a best save, before the next numbered
            # checkpoint recorded it, left it to a resumed run that never heard of it): removed once a successor
            # of its metric is saved. Only in a resumed run: a new run's folder may hold another run's best files,
            # which are not this run's to delete
            if getattr(runner, "_resume", False):
                self._remove_surplus_best(runner, {str(p) for p in current if p})


_BEST = re.compile(r"^best_(?P<metric>.+)_(?:epoch|iter)_(?P<step>\d+)\.pth$")


def surplus_best_checkpoints(folder: Path, recorded: set[str]) -> list[Path]:
    """The best checkpoints of ``folder`` beyond one per metric: a kill between writing a new best checkpoint and
    removing the one it replaces leaves two. Kept per metric: the one the resumed run records (``recorded``, the
    message hub's ``best_ckpt*`` paths, compared by file name: a moved work dir still matches), else the newest
    (largest step).

    Args:
        folder: the checkpoint folder.
        recorded: the best checkpoints the run's state names.

    Returns:
        The files to remove, sorted.
    """
    names = {Path(r).name for r in recorded}
    by_metric: dict[str, list[tuple[int, Path]]] = {}
    for entry in folder.iterdir():
        m = _BEST.match(entry.name)
        if m and entry.is_file():
            by_metric.setdefault(m.group("metric"), []).append((int(m.group("step")), entry))
    surplus = []
    for found in by_metric.values():
        keep = [e for _, e in found if e.name in names] or [max(found)[1]]
        surplus += [e for _, e in found if e != keep[0]]
    return sorted(surplus)
