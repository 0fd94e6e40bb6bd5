"""Proof that a cached run's result is what the run wrote (the run cache of :mod:`.runs`).

:func:`write_result` stores each ``<cache>/<key>/result.json`` with its digests: ``checkpoint_sha256`` and
``checkpoint_bytes``, the SHA-256 and size of the checkpoint file the result names (``checkpoint``; a relative
path is relative to the repository root, where the tools run), and ``digest``, the SHA-256 of the result's content:
its canonical JSON (sorted keys, no spaces) without the ``digest`` field, so it covers the metrics, the settings,
the code digest and the checkpoint's digest. :func:`check_result` verifies a stored result on every reuse
(:func:`~.runs.cached`, :func:`~.runs.estimate`, :func:`~.runs.finished_results`, the report-only modes) and
names the file and what is wrong with it:

* unreadable or truncated JSON, or not a JSON object;
* the result of another run (its ``key`` is not the folder's);
* no digests: a result written before results carried them. Nothing can tell such a result from a hand-edited
  one, so it is **unverifiable and never reused**: like every invalid result it counts as unfinished, a normal
  run of a study or a table **redoes it** (its new result carries digests) and a report-only mode
  (``--report``) **refuses it**: leaves it out, lists it with the reason and exits 1;
* a content digest mismatch: a metric or another field was changed after the run;
* a missing checkpoint, or one whose size or SHA-256 differs from the recorded ones.

Hashing checkpoints is slow, and a study calls ``cached`` several times per run: :func:`file_sha256` keeps each
file's digest for the process, keyed by its path, inode, size and modification time (ns), so each file is hashed
once per process unless it changes. A file modified less than :data:`RACY_SECONDS` ago is hashed on every call (as
git treats "racily clean" files): file times advance in coarse steps, so a rewrite within the same step would
otherwise keep the stale digest.

The code digest (``code``) is not part of a run's key (:func:`~.runs.verify` reruns a sample on the current
code); :func:`code_note` says how many reported runs were produced on another code digest, and which.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

from backbones.utils.files import file_sha256 as sha256_of_file
from backbones.utils.files import write_text_atomic

#: the result's field holding the SHA-256 of the rest of its content
DIGEST = "digest"
#: files modified more recently than this (seconds) are hashed again on every call, not cached
RACY_SECONDS = 2.0
_HASHES: dict[tuple[str, int, int, int], str] = {}
_HASHES_LOCK = threading.Lock()


def content_digest(result: dict[str, Any]) -> str:
    """SHA-256 (hex) of a result's canonical JSON (sorted keys, no spaces), the :data:`DIGEST` field left out."""
    body = {k: v for k, v in result.items() if k != DIGEST}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file, computed once per process for a given path, inode, size and modification time
    (every time while the file is younger than :data:`RACY_SECONDS`).

    Raises:
        OSError: the file cannot be read.
    """
    st = path.stat()
    stamp = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    with _HASHES_LOCK:
        if stamp in _HASHES:
            return _HASHES[stamp]
    digest = sha256_of_file(path)
    if time.time() - st.st_mtime >= RACY_SECONDS:
        with _HASHES_LOCK:
            _HASHES[stamp] = digest
    return digest


def checkpoint_path(result: dict[str, Any], root: Path) -> Path:
    """The checkpoint file a result names (a relative path is taken relative to ``root``)."""
    path = Path(str(result["checkpoint"]))
    return path if path.is_absolute() else root / path


def write_result(result: dict[str, Any], path: Path, root: Path) -> dict[str, Any]:
    """Store a finished run's result atomically at ``path`` with its checkpoint's digest and its content digest.

    Args:
        result: the run's result; JSON data naming its checkpoint file in ``checkpoint``.
        path: the ``result.json`` to write.
        root: the folder a relative checkpoint path is relative to (the repository root).

    Returns:
        the result as stored (as read back from the file), digests included.
    """
    stored = json.loads(json.dumps(result))  # the digest is of what a reader gets back (tuples, int keys, ...)
    ckpt = checkpoint_path(stored, root)
    stored.update(checkpoint_sha256=file_sha256(ckpt), checkpoint_bytes=ckpt.stat().st_size)
    stored[DIGEST] = content_digest(stored)
    write_text_atomic(json.dumps(stored, indent=1) + "\n", path)
    return stored


def read_result(path: Path, key: str) -> tuple[dict[str, Any] | None, str | None]:
    """A stored result read and checked without its checkpoint: (result, problem).

    The result is None when the file is missing (no problem: the run is unfinished) or unreadable; the problem
    (a message naming the file) is None when the JSON, the key and the content digest are as the run wrote them.
    """
    if not path.exists():
        return None, None
    try:
        result = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, (f"{path}: unreadable result ({type(e).__name__}: {e}); expected the complete JSON object the "
                      f"run cache writes (a truncated or damaged file)")
    if not isinstance(result, dict):
        return None, f"{path}: holds a JSON {type(result).__name__}, expected the JSON object of a run's result"
    if result.get("key") != key:
        return result, f"{path}: holds the result of run {result.get('key')!r}, expected run {key!r} (its folder)"
    missing = [f for f in (DIGEST, "checkpoint_sha256", "checkpoint_bytes", "checkpoint") if f not in result]
    if missing:
        return result, (f"{path}: written before results carried digests (no '{missing[0]}' field): its metrics and "
                        f"checkpoint cannot be verified")
    now = content_digest(result)
    if now != result[DIGEST]:
        return result, (f"{path}: the metrics or other fields were changed after the run (digest mismatch: the "
                        f"content's SHA-256 is {now[:16]}..., the run recorded {str(result[DIGEST])[:16]}...)")
    return result, None


def check_checkpoint(path: Path, result: dict[str, Any], root: Path) -> str | None:
    """None when the checkpoint a verified result names (``path``: its ``result.json``) has the recorded size and
    SHA-256, else the problem, naming both files."""
    ckpt = checkpoint_path(result, root)
    if not ckpt.is_file():
        return (f"{path}: its checkpoint {ckpt} is missing (the run recorded a file of {result['checkpoint_bytes']} "
                f"bytes)")
    size = ckpt.stat().st_size
    if size != result["checkpoint_bytes"]:
        return (f"{path}: its checkpoint {ckpt} was changed after the run ({size} bytes, the run recorded "
                f"{result['checkpoint_bytes']})")
    try:
        now = file_sha256(ckpt)
    except OSError as e:
        return f"{path}: its checkpoint {ckpt} cannot be read ({e})"
    if now != result["checkpoint_sha256"]:
        return (f"{path}: its checkpoint {ckpt} was changed after the run (digest mismatch: its SHA-256 is "
                f"{now[:16]}..., the run recorded {str(result['checkpoint_sha256'])[:16]}...)")
    return None


def check_result(path: Path, key: str, root: Path) -> tuple[dict[str, Any] | None, str | None]:
    """A stored result verified in full (JSON, key, content digest, checkpoint): (result, None) when valid,
    (None, None) when there is none (an unfinished run), (None, problem naming the file) otherwise."""
    result, problem = read_result(path, key)
    if result is not None and problem is None:
        problem = check_checkpoint(path, result, root)
    return (None, problem) if problem else (result, None)


def code_digest(root: Path) -> str:
    """SHA-256 (16 hex digits) of the code a run executes: ``backbones/`` and ``tools/``. Recorded with every
    result (not part of its key: :func:`~.runs.verify` reruns cached runs on the current code and compares)."""
    files = sorted((root / "backbones").rglob("*.py")) + sorted((root / "tools").rglob("*.py"))
    digest = hashlib.sha256()
    for f in files:
        digest.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()[:16]


def stale_runs(results: list[dict[str, Any]], current: str) -> dict[str, str]:
    """Key -> code digest of the results (one per key) produced on a code digest other than ``current``."""
    return {r["key"]: str(r.get("code", "unknown")) for r in results if r.get("code") != current}


def code_note(results: list[dict[str, Any]], current: str, hint: str = "") -> str:
    """One sentence: how many of the results' runs were produced on a code digest other than ``current``, which
    ones (key and code digest) and ``hint`` (how to check them on the current code)."""
    total = len({r["key"] for r in results})
    stale = stale_runs(results, current)
    if not stale:
        return f"Code: all {total} runs were produced on the current code ({current})."
    listed = ", ".join(f"{k} (code {c})" for k, c in stale.items())
    return (f"Code: {len(stale)} of {total} runs were produced on a code digest other than the current one "
            f"({current}): {listed}; the code digest is not part of the cache key{hint}.")


def invalid_note(invalid: dict[str, str]) -> str:
    """The invalid runs a report leaves out, one line each: key and the problem."""
    return "".join(f"\n  {key}: {problem}" for key, problem in invalid.items())


__all__ = ["DIGEST", "check_checkpoint", "check_result", "checkpoint_path", "code_digest", "code_note",
           "content_digest", "file_sha256", "invalid_note", "read_result", "stale_runs", "write_result"]
