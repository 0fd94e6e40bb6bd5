"""The memory allocator a process runs with: the choices the benchmark compares and the project's run setup.

Why it matters: with glibc's default settings a model's large per-batch tensors (activations, attention
maps) are handed back to the kernel when freed and taken again on the next batch; the kernel maps and
zeroes every page again on first touch (minor page faults). A converted ff-tiny, batch 16 at 224 px,
took about 89,000 faults per batch that way and none with the settings below (``docs/benchmark.md``).

Choices (an environment for a child process; an allocator cannot be changed inside a running process):

* ``glibc``: the C library's defaults.
* ``glibc-tuned``: glibc told to keep freed memory: ``MALLOC_MMAP_THRESHOLD_`` at its documented maximum
  (32 MiB: smaller blocks come from the heap, not from fresh mappings) and ``MALLOC_TRIM_THRESHOLD_`` at
  4 GB (the heap is not shrunk after every batch). The process keeps its peak heap until it exits. Needs
  nothing installed; the project's run paths (``tools/run.sh``, ``tools/dist_train.sh``,
  ``tools/dist_test.sh``, the benchmark) use it unless the caller's environment sets allocator variables.
* ``jemalloc`` / ``tcmalloc``: preloaded (``LD_PRELOAD``) from Debian's ``libjemalloc2`` /
  ``libtcmalloc-minimal4`` when installed; jemalloc with its page decay off (``MALLOC_CONF``), since with
  its default decay it returns pages as glibc does.

Usage from a shell (what the run scripts do)::

    eval "$(python backbones/utils/allocator.py --exports)"   # the file alone: no package import
"""
from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path

LIBRARY_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib")
GLIBC_TUNED = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "4000000000"}
PRELOADED = {"jemalloc": ("libjemalloc.so.2", {"MALLOC_CONF": "dirty_decay_ms:-1,muzzy_decay_ms:-1"}),
             "tcmalloc": ("libtcmalloc_minimal.so.4", {})}
ALLOCATORS = ("glibc", "glibc-tuned", *PRELOADED)
RUN_SETUP = "glibc-tuned"  # what the project's run paths use
# variables that choose or tune an allocator: a caller who set any of them keeps their choice
CHOOSING = ("LD_PRELOAD", "MALLOC_CONF", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
            "MALLOC_ARENA_MAX", "GLIBC_TUNABLES")


def find_library(name: str) -> Path | None:
    """The path of a shared library in the usual system folders, or None."""
    for folder in LIBRARY_DIRS:
        path = Path(folder) / name
        if path.exists():
            return path
    return None


def allocator_env(name: str) -> dict[str, str]:
    """The environment variables that make a new process use allocator ``name`` (one of :data:`ALLOCATORS`).

    Raises:
        ValueError: an unknown name, or a preloaded allocator whose library is not installed (the error names
            the library and the Debian package).
    """
    if name == "glibc":
        return {}
    if name == "glibc-tuned":
        return dict(GLIBC_TUNED)
    if name not in PRELOADED:
        raise ValueError(f"allocator must be one of {ALLOCATORS}, got {name!r}")
    library, extra = PRELOADED[name]
    path = find_library(library)
    if path is None:
        package = "libjemalloc2" if name == "jemalloc" else "libtcmalloc-minimal4"
        raise ValueError(f"allocator {name!r}: {library} not found in {', '.join(LIBRARY_DIRS)}; "
                         f"install the Debian package {package}")
    return {"LD_PRELOAD": str(path), **extra}


def child_env(name: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) without any allocator choice, plus ``name``'s."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in CHOOSING}
    return {**env, **allocator_env(name)}


def run_setup_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with the run setup's allocator, unless ``base`` already
    chooses one (any of :data:`CHOOSING`): what the project's run paths give the processes they start."""
    env = dict(os.environ if base is None else base)
    return env if any(k in env for k in CHOOSING) else {**env, **allocator_env(RUN_SETUP)}


def active_allocator() -> str:
    """The allocator of this process, as a figure's caption should name it: a preloaded library found in
    ``/proc/self/maps``, else glibc with any malloc variables of the environment."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        maps = ""
    for name, (library, _) in PRELOADED.items():
        if library.split(".so")[0] in maps:
            conf = os.environ.get("MALLOC_CONF")
            return name + (f" (MALLOC_CONF={conf})" if conf and name == "jemalloc" else "")
    tuned = [f"{k}={os.environ[k]}" for k in CHOOSING if k.startswith(("MALLOC_", "GLIBC_")) and k in os.environ]
    return "glibc" + (f" ({', '.join(tuned)})" if tuned else " (defaults)")


def main(argv: list[str] | None = None) -> int:
    """Print the ``export`` lines of an allocator for a shell to ``eval`` (nothing if the environment already
    chooses one), or the allocator of this process."""
    parser = argparse.ArgumentParser(prog="python -m backbones.utils.allocator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exports", choices=ALLOCATORS, nargs="?", const=RUN_SETUP, default=None,
                        help=f"print export lines for this allocator (no name: the run setup, {RUN_SETUP})")
    args = parser.parse_args(argv)
    if args.exports is None:
        print(active_allocator())
        return 0
    if any(k in os.environ for k in CHOOSING):
        return 0  # the caller chose
    for key, value in allocator_env(args.exports).items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
