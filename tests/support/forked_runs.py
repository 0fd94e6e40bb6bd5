"""Run many tool invocations cheaply: children forked from one process that imported the heavy libraries.

Usage:
    python -m tests.support.forked_runs JOBS.json  (from the repository root)

JOBS.json is a list of ``{"argv": [script, arg, ...], "log": path}``. Each job runs in a child forked from
this process, which imported torch, mmengine and mmpretrain but not ``backbones`` (so every script
opts in to whatever it opts in to itself) and did no tensor work (no thread pool to inherit). The child
runs the script as ``python script args`` would (``runpy`` with ``__name__ == '__main__'``; the zoo's
scripts import the installed package, nothing beside them), its stdout and stderr go to ``log``. The exit
codes are printed as a JSON list on the last line.
"""
from __future__ import annotations

import json
import os
import runpy
import sys
import traceback
from collections.abc import Callable
from pathlib import Path


def run_forked(target: Callable[[], object], log: str | Path | None = None) -> int:
    """Fork; the child runs ``target`` (output to ``log`` if given) and exits with its status (``SystemExit``
    code, 0, or 1 on an exception). Returns the child's exit code."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            if log is not None:
                fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
            target()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if not isinstance(e.code, int) and e.code is not None:
                print(e.code, file=sys.stderr)
        except BaseException:  # noqa: BLE001
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def run_script(argv: list[str]) -> None:
    """Run ``argv[0]`` as the main script with arguments ``argv[1:]``."""
    sys.argv = list(argv)
    runpy.run_path(argv[0], run_name="__main__")


def main() -> None:
    import mmengine.runner  # noqa: F401
    import mmpretrain.models  # noqa: F401
    import torch  # noqa: F401

    jobs = json.loads(Path(sys.argv[1]).read_text())
    codes = [run_forked(lambda job=job: run_script(job["argv"]), job["log"]) for job in jobs]
    print(json.dumps(codes))


if __name__ == "__main__":
    main()
