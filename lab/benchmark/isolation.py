"""Time several models interleaved, each in a worker process of its own.

Why: in one shared process the allocator's state left by one model changes the next one's page
faults. DeepViT-16B's reference took ~2,130 ms per batch of 16 alone but ~1,345 ms after our model
had run in the same process (and ~1,340 ms alone with glibc told never to return memory:
``MALLOC_TRIM_THRESHOLD_`` and ``MALLOC_MMAP_THRESHOLD_`` set to 4e9), so a shared-process ratio
depends on which model ran first. A worker holds one model; the parent asks the workers for one
step each in turn, round by round, so machine noise still hits all alike and only one runs at a time.

Besides time, each step's minor page faults are counted (memory the kernel had to map and zero for
it: what a fresh allocation of freed-and-returned memory costs).

Protocol (lines on the worker's stdin / stdout): the worker warms up and prints ``ready``; each
``step`` line runs one step and prints ``T <seconds> <page faults>``; end of input ends the worker.
"""
from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple


class Figures(NamedTuple):
    """Median wall seconds and median minor page faults of one step."""

    seconds: float
    faults: float


def measured(fn: Callable[[], object]) -> tuple[float, int]:
    """Wall seconds and minor page faults of this process during one call of ``fn``."""
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    return seconds, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults


def _medians(samples: dict[str, list[tuple[float, int]]]) -> dict[str, Figures]:
    return {k: Figures(statistics.median(s for s, _ in v), statistics.median(f for _, f in v))
            for k, v in samples.items()}


def interleaved(fns: dict[str, Callable[[], object]], rounds: int, warmup: int = 2) -> dict[str, Figures]:
    """Figures of each function in this process, timed round-robin so that machine noise hits all alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[tuple[float, int]]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            samples[k].append(measured(fn))
    return _medians(samples)


def serve(step: Callable[[], object], warmup: int = 2) -> None:
    """Worker side: warm up, then time one ``step`` per ``step`` line of stdin until stdin ends."""
    for _ in range(warmup):
        step()
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "step":
            seconds, faults = measured(step)
            print(f"T {seconds!r} {faults}", flush=True)


class Worker:
    """A child process started with ``cmd`` that speaks the protocol above.

    Args:
        cmd: the command line (argv) of the worker.
        name: what error messages call it.
        env: its environment (default: this process's).
    """

    def __init__(self, cmd: Sequence[str], name: str, env: dict[str, str] | None = None) -> None:
        self.name = name
        self._err = tempfile.TemporaryFile(mode="w+")
        self._proc = subprocess.Popen(list(cmd), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err,
                                      text=True, bufsize=1, env=env)
        self._expect("ready")

    def _expect(self, prefix: str) -> str:
        for line in self._proc.stdout:
            if line.startswith(prefix):
                return line
        self._proc.wait()
        self._err.seek(0)
        raise RuntimeError(f"benchmark worker {self.name!r} exited with code {self._proc.returncode} before "
                           f"sending {prefix!r}:\n{self._err.read()[-2000:]}")

    def step(self) -> tuple[float, int]:
        """Seconds and page faults of one step in the worker."""
        self._proc.stdin.write("step\n")
        self._proc.stdin.flush()
        _, seconds, faults = self._expect("T ").split()
        return float(seconds), int(faults)

    def close(self) -> None:
        """End the worker and wait for it."""
        if self._proc.poll() is None:
            self._proc.stdin.close()
            self._proc.wait()
        self._err.close()


def interleaved_workers(cmds: dict[str, Sequence[str]], rounds: int,
                        env: dict[str, str] | None = None) -> dict[str, Figures]:
    """Figures of each worker command's step, one step of each in turn per round.

    Workers are started (and warmed up) one after another, so that none competes with another's warm-up.
    """
    workers: dict[str, Worker] = {}
    try:
        for name, cmd in cmds.items():
            workers[name] = Worker(cmd, name, env)
        samples: dict[str, list[tuple[float, int]]] = {k: [] for k in workers}
        for _ in range(rounds):
            for k, w in workers.items():
                samples[k].append(w.step())
        return _medians(samples)
    finally:
        for w in workers.values():
            w.close()
