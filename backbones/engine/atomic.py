"""Atomic local writes for mmengine: checkpoints, ``last_checkpoint`` and dumped predictions.

mmengine writes every local file through ``LocalBackend.put`` / ``put_text`` with ``open(path, 'w')``:
a run killed mid-write leaves a truncated checkpoint that a later ``--resume`` picks up. After
:func:`install_atomic_writes` the bytes go to a temporary file in the same folder, are flushed and
fsync'ed, and the file is renamed over the target (atomic on POSIX): the target is either the old
file or the complete new one.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mmengine.fileio.backends.local_backend import LocalBackend


def write_atomic(data: bytes, path: str | Path) -> None:
    """Write ``data`` to ``path`` through a temporary sibling file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _put(self: LocalBackend, obj: bytes, filepath: str | Path) -> None:
    write_atomic(obj, filepath)


def _put_text(self: LocalBackend, obj: str, filepath: str | Path, encoding: str = "utf-8") -> None:
    write_atomic(obj.encode(encoding), filepath)


def replace_between_markers(path: str | Path, start: str, end: str, text: str) -> None:
    """Replace what stands between the lines ``start`` and ``end`` of the text file ``path`` with ``text``.

    Used by the train-all tools to write their results table into README.md; the file is rewritten
    atomically. Raises SystemExit naming the file when a marker is missing.
    """
    doc = Path(path).read_text()
    if start not in doc or end not in doc:
        raise SystemExit(f"error: {path} has no {start} ... {end} block")
    head, rest = doc.split(start, 1)
    write_atomic((head + start + "\n" + text + "\n" + end + rest.split(end, 1)[1]).encode(), path)


def install_atomic_writes() -> None:
    """Make mmengine's local file backend write atomically (idempotent)."""
    LocalBackend.put = _put
    LocalBackend.put_text = _put_text
