"""Which checkpoint ``--resume`` continues from: the one ``last_checkpoint`` names when it is complete, else the
newest complete numbered checkpoint (a kill or a full disk can leave an empty ``last_checkpoint`` or a truncated
file)."""
from __future__ import annotations

import re
from pathlib import Path

from backbones.engine.checkpoint.safe_load import CheckpointReadError, zip_records


def is_remote(name: str | Path) -> bool:
    """Whether a checkpoint name is a URL or another scheme (``scheme://...``) rather than a local path."""
    return re.match(r"^[A-Za-z][\w+.-]*:(?:[A-Za-z][\w+.-]*:)?//", str(name)) is not None


def checkpoint_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be resumed from (not local, missing, empty, truncated / corrupt zip), or None if it looks
    whole. Every record torch reads is checked as the safe loader checks it (:func:`zip_records`: both zip readers
    agree, CRCs match; the file is read once; nothing is unpickled).
    """
    if is_remote(path):
        return "is not a local file (a run resumes only from local checkpoints)"
    path = Path(path)
    if not path.is_file():
        return "does not exist"
    if path.stat().st_size == 0:
        return "is empty (0 bytes)"
    try:
        zip_records(path, str(path))
    except CheckpointReadError as e:
        return f"is truncated or corrupt ({str(e).split(': ', 1)[-1]})"
    return None


_NUMBERED = re.compile(r"^(?:epoch|iter)_(\d+)\.pth$")


def newest_complete_checkpoint(folder: str | Path) -> Path | None:
    """The ``epoch_N.pth`` / ``iter_N.pth`` of ``folder`` with the largest N that passes :func:`checkpoint_problem`."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = sorted(((int(m.group(1)), e.stat().st_mtime, e) for e in folder.iterdir()
                    if (m := _NUMBERED.match(e.name))), reverse=True)
    return next((e for _, _, e in found if checkpoint_problem(e) is None), None)


def resume_checkpoint(work_dir: str | Path) -> tuple[str | None, str | None]:
    """The checkpoint ``--resume`` (without a path) continues from, and a warning if it is not ``last_checkpoint``'s.

    ``work_dir/last_checkpoint`` names the checkpoint when it is a complete local file; when the file is
    missing, empty, or names a URL, a missing or a corrupt checkpoint, the newest complete numbered checkpoint
    of that folder (or of ``work_dir``) is used instead.

    Returns:
        (checkpoint path or None when there is nothing to resume, warning or None).

    Raises:
        FileNotFoundError: ``last_checkpoint`` names a bad checkpoint and no complete one exists.
    """
    work_dir = Path(work_dir)
    record = work_dir / "last_checkpoint"
    named = record.read_text().strip() if record.is_file() else ""
    if named:
        problem = checkpoint_problem(named)
        if problem is None:
            return named, None
        reason = f"{record} names {named}, which {problem}"
    elif record.is_file():
        reason = f"{record} is empty"
    else:
        reason = f"{work_dir} has no last_checkpoint"
    folders = [Path(named).parent] if named and not is_remote(named) else []
    newest = next((c for c in map(newest_complete_checkpoint, [*folders, work_dir]) if c is not None), None)
    if newest is not None:
        return str(newest), f"{reason}; resuming from the newest complete checkpoint {newest}"
    if named or record.is_file():
        raise FileNotFoundError(f"{reason}, and no complete epoch_N.pth / iter_N.pth is in {work_dir}")
    return None, None

