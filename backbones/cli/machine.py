"""What a figure needs to say about the machine it was measured on: CPU model, instruction set, threads."""
from __future__ import annotations

import platform
from pathlib import Path


def machine_info(threads: int) -> dict[str, str | int]:
    """CPU model (``/proc/cpuinfo``), the instruction set torch's kernels use, threads per run, torch version."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return dict(cpu=cpu, isa=torch.backends.cpu.get_cpu_capability(), threads=threads, torch=torch.__version__)
