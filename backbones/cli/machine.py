"""What a figure needs to say about the machine it was measured on: CPU model, instruction set, threads."""
from __future__ import annotations

import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; the platform's processor string elsewhere)."""
    cpu = platform.processor() or platform.machine() or "unknown CPU"
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), cpu)
    except OSError:
        return cpu


def machine_info(threads: int) -> dict[str, str | int]:
    """CPU model (``/proc/cpuinfo``), the instruction set torch's kernels use, threads per run, torch version."""
    import torch

    return dict(cpu=cpu_model(), isa=torch.backends.cpu.get_cpu_capability(), threads=threads, torch=torch.__version__)
