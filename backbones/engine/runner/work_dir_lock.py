"""One writer per work dir: a lock file that a training run (or a run-cache entry being executed) holds.

Two trainings started on the same work dir both ran to the end: the second overwrote the first's numbered
checkpoints and the first's best-checkpoint rotation deleted the second's best file (same name). The lock is
an exclusive ``flock`` on ``<folder>/.backbones.lock``, taken without waiting; the file records the holder's
pid, host and start time, so a refusal names the folder and the process holding it. The kernel releases a
``flock`` when its process ends, however it ends (an exception, Ctrl-C, SIGTERM, SIGKILL): a lock file whose
lock is free is stale, and it is taken over with a log line naming the process that left it. A lock file
whose ``flock`` is free but that names another process that is still running on this host (a file system
without ``flock``) or a process on another host is refused too: its holder may still be writing; remove the
file once that run is over.

:class:`WorkDirLockHook` holds the lock of ``runner.work_dir`` from ``before_run`` (the first hook to run) to
``after_run``; tools/train.py adds it to every training and releases it whatever way the run ends.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from pathlib import Path

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

#: the lock file's name inside the folder it guards
LOCK_NAME = ".backbones.lock"


#: descriptors of the locks this process holds: closed in a forked child (a loader worker), so that a worker
#: outliving a killed run does not keep the run's lock (closing the child's copy leaves the parent's lock held)
_HELD: set[int] = set()


def _close_in_child() -> None:
    for fd in list(_HELD):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


os.register_at_fork(after_in_child=_close_in_child)


class WorkDirBusyError(RuntimeError):
    """The folder is locked by another run (the message names the folder, the lock file and the holder)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _holder_text(holder: dict) -> str:
    started = holder.get("started")
    since = f", started {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(started))}" if started else ""
    return f"process {holder.get('pid', '?')} on host {holder.get('host', '?')}{since} ({holder.get('what', 'a run')})"


class WorkDirLock:
    """The exclusive lock of a folder: :meth:`acquire` or refuse, :meth:`release` (also a context manager).

    Args:
        folder: the folder guarded (created if missing).
        what: what holds it, for the messages (``'training run'``, ``'run-cache execution'``).
        path: the lock file (default ``folder/.backbones.lock``); the run cache keeps it beside the folder,
            which it deletes and recreates.
    """

    def __init__(self, folder: str | Path, what: str = "training run", path: str | Path | None = None) -> None:
        self.folder, self.what = Path(folder), what
        self.path = Path(path) if path is not None else self.folder / LOCK_NAME
        self._fd: int | None = None
        self._pid = os.getpid()
        #: the stale holder taken over by the last :meth:`acquire` (a sentence), or None
        self.took_over: str | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def _open_locked(self) -> int:
        """A descriptor of the lock file with the ``flock`` taken; the file is the one at :attr:`path` now."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                os.close(fd)
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                raise self._busy(self._read(self.path)) from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:  # its holder released it (removed the file) in between: take a new one
                same = False
            if same:
                return fd
            os.close(fd)

    @staticmethod
    def _read(path: Path) -> dict:
        try:
            holder = json.loads(path.read_text() or "{}")
        except (OSError, ValueError):
            return {}
        return holder if isinstance(holder, dict) else {}

    def _busy(self, holder: dict) -> WorkDirBusyError:
        return WorkDirBusyError(
            f"{self.folder} is in use: {_holder_text(holder)} holds its lock {self.path}; two runs writing one "
            f"folder overwrite and delete each other's checkpoints. Wait for that run to end, or use another "
            f"folder (--work-dir)")

    def acquire(self) -> WorkDirLock:
        """Take the lock, or raise :class:`WorkDirBusyError` naming the folder and the holder's pid.

        A lock file left by a process that is no longer running on this host is taken over; :attr:`took_over`
        then names that process.
        """
        if self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = self._open_locked()
        try:
            holder = self._read(self.path)
            pid, host = holder.get("pid"), holder.get("host")
            self.took_over = None
            if isinstance(pid, int) and pid != os.getpid():
                if host != socket.gethostname() or _alive(pid):
                    raise WorkDirBusyError(
                        f"{self._busy(holder)}. (Its lock is free: if that process is not a run in this folder, "
                        f"remove {self.path}.)")
                self.took_over = (f"stale lock {self.path} of {_holder_text(holder)} taken over: that process is "
                                  f"no longer running")
            record = dict(pid=os.getpid(), host=socket.gethostname(), started=time.time(), what=self.what)
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(record).encode(), 0)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._pid = fd, os.getpid()
        _HELD.add(fd)
        return self

    def release(self) -> None:
        """Remove the lock file and release the lock (nothing if not held)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        if os.getpid() != self._pid:  # a forked child: its copy of the descriptor was closed at the fork
            return
        _HELD.discard(fd)
        try:
            if os.path.exists(self.path) and os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                os.remove(self.path)
        finally:
            os.close(fd)  # releases the flock

    def __enter__(self) -> WorkDirLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


@HOOKS.register_module()
class WorkDirLockHook(Hook):
    """Hold the lock of ``runner.work_dir`` (:class:`WorkDirLock`) for the whole run, on the main process.

    ``before_run`` takes it (before any other hook: the checkpoint hook's clean-up of interrupted saves included)
    or stops the run with :class:`WorkDirBusyError` naming the folder and the holder's pid; a stale lock is taken
    over with a warning naming the process that left it. ``after_run`` releases it; :meth:`release` does so from
    a ``finally`` (tools/train.py) when the run ends with an exception.
    """

    priority = "HIGHEST"

    def __init__(self) -> None:
        self.lock: WorkDirLock | None = None

    def before_run(self, runner) -> None:  # noqa: ANN001
        """Take the work dir's lock."""
        if not is_main_process():
            return
        self.lock = WorkDirLock(runner.work_dir, "training run").acquire()
        if self.lock.took_over:
            runner.logger.warning(self.lock.took_over)
        runner.logger.info(f"work dir {runner.work_dir} locked by this run (process {os.getpid()}): {self.lock.path}")

    def after_run(self, runner) -> None:  # noqa: ANN001
        """Release the lock."""
        self.release()

    def release(self) -> None:
        """Release the lock if held."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def release_work_dir_locks(runner) -> None:  # noqa: ANN001
    """Release the work-dir locks of ``runner``'s :class:`WorkDirLockHook` hooks (after a run that raised)."""
    for hook in getattr(runner, "hooks", []):
        if isinstance(hook, WorkDirLockHook):
            hook.release()
