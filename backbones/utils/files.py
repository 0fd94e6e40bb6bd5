"""Files: atomic local writes (checkpoints, ``last_checkpoint``, dumped predictions, reports, README tables) and
digests.

:func:`write_atomic` writes the bytes to a hidden temporary sibling (``.NAME.XXXXXXXX.tmp``, created
with mode 0666 so the file follows the umask), flushes and fsyncs it, renames it over the target
(atomic on POSIX) and fsyncs the folder: a reader sees the old file or the complete new one, never a
part. A failure (full disk, interrupt) removes the temporary file and leaves the target as it was; a
process killed mid-write leaves only the hidden ``.tmp`` file, which :func:`remove_stale_temporaries`
deletes.

Checkpoints reach :func:`write_atomic` through the ``atomic_local`` file backend of
:mod:`backbones.engine.checkpoint.atomic`; other files call it directly. :func:`file_sha256` digests a file.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

#: temporary files of :func:`write_atomic`: ``.`` + target name + ``.`` + 8 hex digits + ``.tmp``.
TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{8}\.tmp$")


def create_temporary(path: Path, suffix: str = "") -> tuple[int, Path]:
    """A new hidden sibling ``.NAME.XXXXXXXX.tmp`` (+ ``suffix``) of ``path`` opened for writing, created with mode
    0666 minus the umask (like ``open(path, 'wb')``): (file descriptor, path)."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp{suffix}")
        try:  # 0o666 & ~umask, like open(path, 'wb'); mkstemp would force 0600
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(data: bytes, path: str | Path) -> None:
    """Write ``data`` to ``path`` through a temporary sibling file and an atomic rename.

    Raises:
        OSError: the write failed (e.g. ``ENOSPC``); ``path`` is unchanged and no temporary file is left.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temporary(path)
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
    _fsync_folder(path.parent)


def write_text_atomic(text: str, path: str | Path, encoding: str = "utf-8") -> None:
    """:func:`write_atomic` for text."""
    write_atomic(text.encode(encoding), path)


def remove_stale_temporaries(folder: str | Path, names: re.Pattern | None = None) -> list[Path]:
    """Delete the temporary files that killed :func:`write_atomic` calls left in ``folder``.

    Args:
        folder: the folder to clean (missing: nothing to do).
        names: only temporaries whose target name matches this pattern (all if None).

    Returns:
        the removed files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for entry in folder.iterdir():
        m = TEMPORARY.match(entry.name)
        if m and entry.is_file() and (names is None or names.fullmatch(m.group("name"))):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
