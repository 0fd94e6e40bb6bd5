"""Run tools/train.py with a fault injected at one step of a checkpoint save (used by
tests/e2e/test_checkpoint_faults.py).

Usage:
    python -m tests.support.fault_runs CONFIG WORK_DIR FAULT [--resume-after [--empty-last-checkpoint]]

The heavy imports happen once here; each training runs in a child forked before any tensor work, so the
child that is "killed" ends with ``os._exit`` exactly where a SIGKILL would stop it (no ``finally``, no
clean-up). FAULT names the step of the second checkpoint save (epoch 2; epoch 1 already saved and named
by ``last_checkpoint``) where the run dies:

* ``none``: no fault (the uninterrupted reference run).
* ``before_write``: before the temporary file of the new checkpoint is created.
* ``mid_write``: after half of the new checkpoint's bytes are written.
* ``before_rename``: the new checkpoint is written and fsync'ed, not yet renamed into place.
* ``before_last_checkpoint``: renamed into place, ``last_checkpoint`` not yet updated.
* ``mid_write_last_checkpoint``: half-way through writing the new ``last_checkpoint``.
* ``before_remove_old``: ``last_checkpoint`` updated, the previous checkpoint (max_keep_ckpts=1) not yet removed.
* ``disk_full``: writing the new checkpoint fails with ``ENOSPC`` (an exception, not a kill).

With ``--resume-after`` the work dir is copied to ``WORK_DIR.after_fault`` (what the fault left) and a
second child then runs ``tools/train.py --resume`` in the same work dir (after emptying ``last_checkpoint``
with ``--empty-last-checkpoint``). The exit codes are printed as JSON on the last line:
``{"fault": code, "resume": code}``.
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sys
from pathlib import Path

import backbones.engine.checkpoint.atomic as atomic_backend
import backbones.engine.runner.checkpoint_hook as checkpoint
import backbones.utils.files as atomic
from backbones.cli import train  # tools/train.py: imports torch, mmengine, backbones
from tests.support.forked_runs import run_forked

KILLED = 137  # the exit status of a killed process
FAULTS = ("none", "before_write", "mid_write", "before_rename", "before_last_checkpoint",
          "mid_write_last_checkpoint", "before_remove_old", "disk_full")


def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(KILLED)


def install(fault: str) -> None:
    """Patch the writer so that the second save of an ``epoch_N.pth`` meets ``fault``."""
    saves = {"n": 0}
    real_create, real_fdopen, real_replace = atomic.create_temporary, os.fdopen, os.replace
    real_text, real_remove = checkpoint.write_text_atomic, atomic_backend.AtomicLocalBackend.remove
    on_last_checkpoint = fault == "mid_write_last_checkpoint"

    def is_target(path: Path) -> bool:
        """Count the checkpoint saves; True for the file the fault hits (epoch 2's checkpoint, or the
        ``last_checkpoint`` written after it)."""
        if re.fullmatch(r"epoch_\d+\.pth", path.name):
            saves["n"] += 1
            return saves["n"] == 2 and not on_last_checkpoint
        return on_last_checkpoint and path.name == "last_checkpoint" and saves["n"] == 2

    class HalfWriter:
        def __init__(self, f, fail: str) -> None:  # noqa: ANN001
            self.f, self.fail = f, fail

        def __enter__(self):  # noqa: ANN204
            return self

        def __exit__(self, *exc) -> None:  # noqa: ANN002
            self.f.close()

        def write(self, data: bytes) -> int:
            if self.fail == "disk_full":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.f.write(data[: len(data) // 2])
            self.f.flush()
            os.fsync(self.f.fileno())
            _die()

        def __getattr__(self, name: str):  # noqa: ANN204
            return getattr(self.f, name)

    target = {"hit": False}

    def create(path: Path):  # noqa: ANN202
        target["hit"] = is_target(Path(path))
        if target["hit"] and fault == "before_write":
            _die()
        return real_create(path)

    def fdopen(fd, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        f = real_fdopen(fd, *args, **kwargs)
        if target["hit"] and fault in ("mid_write", "disk_full", "mid_write_last_checkpoint"):
            return HalfWriter(f, fault)
        return f

    def replace(src, dst, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if target["hit"] and fault == "before_rename":
            _die()
        return real_replace(src, dst, *args, **kwargs)

    def write_text(text: str, path, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        if saves["n"] == 2 and fault == "before_last_checkpoint":
            _die()
        real_text(text, path, *args, **kwargs)

    def remove(self, path) -> None:  # noqa: ANN001
        if fault == "before_remove_old":
            _die()
        real_remove(self, path)

    atomic.create_temporary = create
    atomic.os.fdopen = fdopen
    atomic.os.replace = replace
    checkpoint.write_text_atomic = write_text
    atomic_backend.AtomicLocalBackend.remove = remove


def run_child(argv: list[str], fault: str) -> int:
    """Fork; the child installs ``fault`` and runs tools/train.py with ``argv``; returns its exit status."""

    def child() -> None:
        install(fault)
        train.main(argv)

    return run_forked(child)


def main() -> None:
    config, work_dir, fault = sys.argv[1:4]
    if fault not in FAULTS:
        raise SystemExit(f"error: unknown fault {fault!r}; faults: {FAULTS}")
    codes = {"fault": run_child([config, "--work-dir", work_dir], fault)}
    if "--resume-after" in sys.argv:
        shutil.copytree(work_dir, work_dir + ".after_fault", symlinks=True)
        if "--empty-last-checkpoint" in sys.argv:  # as a disk error or another tool might leave it
            Path(work_dir, "last_checkpoint").write_text("")
        codes["resume"] = run_child([config, "--work-dir", work_dir, "--resume"], "none")
    print(json.dumps(codes))


if __name__ == "__main__":
    main()
