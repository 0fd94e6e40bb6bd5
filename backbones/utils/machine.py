"""What a figure needs to say about the machine it was measured on: CPU model, instruction set, threads."""
from __future__ import annotations

import platform
from pathlib import Path

#: the CPU flags that decide which kernels (and which precisions) run fast.
FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_bf16", "amx_int8")


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def cpu_flags() -> list[str]:
    """Which of :data:`FLAGS` this CPU reports (``/proc/cpuinfo``; empty where it is not readable)."""
    line = next((ln for ln in _cpuinfo() if ln.startswith("flags")), "")
    have = set(line.split(":", 1)[-1].split())
    return [f for f in FLAGS if f in have]


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; the platform's processor string elsewhere)."""
    cpu = platform.processor() or platform.machine() or "unknown CPU"
    return next((ln.split(":", 1)[1].strip() for ln in _cpuinfo() if ln.startswith("model name")), cpu)


def machine_info(threads: int) -> dict[str, str | int]:
    """CPU model (``/proc/cpuinfo``), the instruction set torch's kernels use, threads per run, torch version."""
    import torch

    return dict(cpu=cpu_model(), isa=torch.backends.cpu.get_cpu_capability(), threads=threads, torch=torch.__version__)
