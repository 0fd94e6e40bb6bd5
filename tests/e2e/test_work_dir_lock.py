"""One writer per work dir (issue 42): a training run and a run-cache execution hold their folder's lock; a second
one is refused naming the folder and the holder's pid, a stale lock of a dead process is taken over and named, the
lock is released on every exit, and a new run's best-checkpoint rotation leaves another run's best file alone."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backbones.engine.runner.work_dir_lock import LOCK_NAME, WorkDirBusyError, WorkDirLock
from tests.support import ROOT, small_config

HOLD = ("import sys, time\n"
        "from backbones.engine.runner.work_dir_lock import WorkDirLock\n"
        "WorkDirLock(sys.argv[1], path=sys.argv[2] if len(sys.argv) > 2 else None).acquire()\n"
        "print('held', flush=True)\n"
        "time.sleep(120)\n")


@contextlib.contextmanager
def held_elsewhere(folder: Path, path: Path | None = None) -> Iterator[int]:
    """Another process holding the lock of ``folder``; yields its pid."""
    args = [sys.executable, "-c", HOLD, str(folder), *([str(path)] if path else [])]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def dead_pid() -> int:
    """The pid of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def run_log(work: Path) -> str:
    return "".join(p.read_text() for p in work.glob("*/*.log"))


def test_lock_refuses_a_second_holder_and_takes_over_a_stale_one(tmp_path: Path) -> None:
    with held_elsewhere(tmp_path) as pid:
        with pytest.raises(WorkDirBusyError, match=rf"{tmp_path} is in use: process {pid} on host"):
            WorkDirLock(tmp_path).acquire()
    # the holder was killed (SIGKILL: no clean-up): its lock file stays, its flock is gone -> stale, taken over
    lock = WorkDirLock(tmp_path).acquire()
    assert lock.took_over is not None and f"process {pid} " in lock.took_over and "taken over" in lock.took_over
    assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    lock.release()
    assert not (tmp_path / LOCK_NAME).exists()
    with pytest.raises(RuntimeError), WorkDirLock(tmp_path):  # released on an exception
        raise RuntimeError("boom")
    assert not (tmp_path / LOCK_NAME).exists() and WorkDirLock(tmp_path).acquire().took_over is None


def test_second_training_on_a_work_dir_is_refused(tmp_path: Path, digits: Path) -> None:
    """A training on a folder another process holds stops before it writes a checkpoint, naming folder and pid."""
    from backbones.cli import train

    cfg = small_config(tmp_path, digits, train_images=64, epochs=1)
    work = tmp_path / "w"
    with held_elsewhere(work) as pid:
        with pytest.raises(SystemExit) as e:
            train.main([str(cfg), "--work-dir", str(work)])
        assert f"{work} is in use: process {pid}" in str(e.value.code)
    assert not list(work.glob("*.pth")) and not (work / "last_checkpoint").exists()


def test_stale_lock_is_named_and_another_runs_best_checkpoint_is_kept(tmp_path: Path, digits: Path) -> None:
    """A lock file of a dead process is taken over with a log line naming it; a new run's best-checkpoint rotation
    does not delete a best checkpoint it did not write (it removed it: same metric); the lock is gone after."""
    from backbones.cli import train

    extra = ("default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=-1, save_best='accuracy/top1', "
             "rule='greater'))\n")
    cfg = small_config(tmp_path, digits, extra=extra, train_images=64, epochs=1)
    work = tmp_path / "w"
    work.mkdir()
    pid = dead_pid()
    (work / LOCK_NAME).write_text(json.dumps(dict(pid=pid, host=os.uname().nodename, started=time.time())))
    other = work / "best_accuracy_top1_epoch_7.pth"  # another (earlier) run's best checkpoint
    other.write_bytes(b"another run's checkpoint")
    train.main([str(cfg), "--work-dir", str(work)])
    assert other.read_bytes() == b"another run's checkpoint"
    assert (work / "best_accuracy_top1_epoch_1.pth").is_file()
    assert f"stale lock {work / LOCK_NAME} of process {pid} " in run_log(work)
    assert not (work / LOCK_NAME).exists()


def test_lock_released_when_a_run_fails(tmp_path: Path, digits: Path) -> None:
    """A run that stops with an error (a missing load_from, after the lock is taken) leaves the folder free."""
    from backbones.cli import train

    cfg = small_config(tmp_path, digits, train_images=64, epochs=1, extra=f"load_from = '{tmp_path / 'none.pth'}'\n")
    work = tmp_path / "w"
    with pytest.raises(SystemExit, match="none.pth"):
        train.main([str(cfg), "--work-dir", str(work)])
    assert "locked by this run" in run_log(work)
    assert not (work / LOCK_NAME).exists()
    assert WorkDirLock(work).acquire().took_over is None


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_lock_released_on_ctrl_c_and_sigterm(sig: int, tmp_path: Path, digits: Path) -> None:
    """Ctrl-C ends the run through its ``finally`` (lock file removed); SIGTERM kills it (the kernel frees the flock,
    the file names a dead process): either way the next run takes the folder."""
    cfg = small_config(tmp_path, digits, train_images=64, epochs=50)
    work = tmp_path / "w"
    log = tmp_path / "out.txt"
    proc = subprocess.Popen([sys.executable, "tools/train.py", str(cfg), "--work-dir", str(work)], cwd=ROOT,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT,  # noqa: SIM115  (the child's)
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline, holder = time.time() + 180, {}
    while not holder and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        holder = WorkDirLock._read(work / LOCK_NAME)  # {} until the run has written its record
    assert holder.get("pid") == proc.pid, log.read_text()[-2000:]
    proc.send_signal(sig)
    try:
        proc.wait(timeout=240)  # seconds on an idle machine; much longer on a loaded one
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the run did not end after {sig!r}: {log.read_text()[-3000:]}")
    lock = WorkDirLock(work).acquire()
    if sig == signal.SIGINT:
        assert lock.took_over is None  # released (file removed) by the run itself
    else:
        assert lock.took_over is not None and f"process {proc.pid} " in lock.took_over
    lock.release()


def test_run_cache_refuses_a_second_execution_of_a_run(tmp_path: Path) -> None:
    """While one process executes a run-cache entry, another process executing the same run is refused and leaves
    the first's folder as it is (it deleted it)."""
    from lab.runs.runs import Context, Run, execute

    ctx = Context(root=ROOT, cache=tmp_path / "cache", data_roots={"digits": tmp_path / "no-data"})
    key = "0123456789abcdef"
    folder = ctx.cache / key
    (folder / "work").mkdir(parents=True)
    (folder / "work" / "epoch_1.pth").write_bytes(b"first process's checkpoint")
    run = Run(label="x", config="configs/none.py")
    with held_elsewhere(folder, ctx.cache / f".{key}.lock") as pid:
        with pytest.raises(WorkDirBusyError, match=rf"{folder} is in use: process {pid}"):
            execute(ctx, run, key, {}, print)
    assert (folder / "work" / "epoch_1.pth").read_bytes() == b"first process's checkpoint"


def test_ctrl_c_during_a_checkpoint_save_stays_an_interrupt(tmp_path: Path, digits: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C while mmengine formats the config for a checkpoint (yapf, inside a bare ``except:``) was reported
    as ``SyntaxError: Failed to format the config file``; now it is the KeyboardInterrupt it is, and the work dir
    is free."""
    import inspect

    import mmengine.config.config as mmengine_config

    from backbones.cli import train

    real = mmengine_config.FormatCode

    def interrupted_in_a_save(*args: object, **kwargs: object) -> object:
        if any(f.function == "save_checkpoint" for f in inspect.stack()):
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(mmengine_config, "FormatCode", interrupted_in_a_save)
    cfg = small_config(tmp_path, digits, train_images=64, epochs=1)
    work = tmp_path / "w"
    with pytest.raises(KeyboardInterrupt) as e:
        train.main([str(cfg), "--work-dir", str(work)])
    assert "the config is fine" in str(e.value)
    assert not list(work.glob("*.pth")) and not (work / LOCK_NAME).exists()


def test_a_forked_child_does_not_keep_the_lock(tmp_path: Path) -> None:
    """A loader worker forked by a run shares the lock's descriptor; the child's copy is closed at the fork, so a
    worker outliving its killed run does not keep the folder locked."""
    lock = WorkDirLock(tmp_path).acquire()
    started, ready = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child (a loader worker): lives on after the parent releases
        os.write(ready, b"1")
        time.sleep(3)
        os._exit(0)
    try:
        assert os.read(started, 1) == b"1"  # the child runs (its at-fork handlers are done)
        lock._fd and os.close(lock._fd)  # the parent dies without clean-up: its descriptor is gone
        lock._fd = None
        from backbones.engine.runner import work_dir_lock

        work_dir_lock._HELD.clear()
        other = WorkDirLock(tmp_path).acquire()  # the child still runs: the lock must be free all the same
        other.release()
    finally:
        os.waitpid(pid, 0)
