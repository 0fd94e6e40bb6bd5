"""Peak resident memory: of a call in this process, and of one training step with and without activation
checkpointing (``with_cp``), each setting in a fresh process.

The training step is the one a classifier trains with: ``MixerViT(PRESET, with_cp=...)`` + a 1000-class linear
head on the class token, forward, cross-entropy, backward, AdamW. In its fresh process one warm-up step first
allocates everything a step keeps (gradients, AdamW's moments), the memory the allocator kept from it is handed
back (glibc ``malloc_trim``), then the process's peak resident set (Linux VmHWM, reset before) is read over a
second step. ``before`` is the resident set just before that step (weights, gradients, optimizer state, the
runtime); ``peak - before`` is what the step itself adds (mostly the activations kept for backward).
"""
from __future__ import annotations

import ctypes
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import torch


def rss_kb(field: str) -> int:
    """A memory field of ``/proc/self/status`` in kB (``VmRSS``, ``VmHWM``); 0 where it is missing."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def peak_memory_mb(fn: Callable[[], object]) -> float:
    """Peak resident memory (MB) of the whole process while ``fn`` runs (Linux VmHWM, reset before).

    It includes the weights and whatever the allocator keeps, as a CPU user sees it.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return float("nan")
    fn()
    return rss_kb("VmHWM") / 1024


def release_free_memory() -> None:
    """Hand memory that glibc's allocator keeps after ``free`` back to the kernel (``malloc_trim(0)``).

    Without it the resident set before the measured step still holds the warm-up step's freed
    activations, and the peak is partly memory the process no longer uses.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the measurement then includes the allocator's cache
        pass


def measure_step(arch: str, batch: int, img: int, with_cp: bool) -> dict:
    """Resident MB before a training step and at its peak, in this process (call it in a fresh one)."""
    from backbones.models.vit import MixerViT

    torch.manual_seed(0)
    backbone = MixerViT(arch, img_size=img, with_cp=with_cp, drop_path_rate=0.1)
    head = torch.nn.Linear(backbone.embed_dims, 1000)
    optim = torch.optim.AdamW([*backbone.parameters(), *head.parameters()], lr=1e-4)
    x, y = torch.randn(batch, 3, img, img), torch.randint(0, 1000, (batch,))

    def step() -> None:
        backbone.train()
        loss = torch.nn.functional.cross_entropy(head(backbone(x)[-1]), y)
        optim.zero_grad(set_to_none=False)
        loss.backward()
        optim.step()

    step()  # allocates gradients and AdamW's state
    release_free_memory()
    before = rss_kb("VmRSS") / 1024
    peak = peak_memory_mb(step)
    return dict(arch=arch, batch=batch, img=img, with_cp=with_cp, before_mb=before, peak_mb=peak)


def train_memory_in_fresh_process(arch: str, batch: int, img: int, threads: int, with_cp: bool) -> dict:
    """:func:`measure_step` in a new Python process (peak resident memory is per process)."""
    cmd = [sys.executable, "-m", "lab.benchmark", arch, "--batch", str(batch), "--img", str(img), "--threads",
           str(threads), "--train-memory-child", "1" if with_cp else "0"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"error: {' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def train_memory_report(arch: str, batch: int, img: int, threads: int) -> list[dict]:
    """Print the with_cp off / on table of :func:`measure_step` (each in a fresh process); returns the rows."""
    from backbones.utils.machine import machine_info

    cpu = machine_info(threads)["cpu"]
    rows = [train_memory_in_fresh_process(arch, batch, img, threads, cp) for cp in (False, True)]
    print(f"CPU: {cpu}; torch {torch.__version__}; {threads} threads\n"
          f"training step of {arch} (+ 1000-class head), batch {batch}, {img} px, float32, AdamW; "
          f"each setting in a fresh process\n"
          "| with_cp | resident before the step (MB) | peak during the step (MB) | added by the step (MB) |\n"
          "|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['with_cp']} | {r['before_mb']:.0f} | {r['peak_mb']:.0f} | {r['peak_mb'] - r['before_mb']:.0f} |")
    off, on = rows
    print(f"with_cp: peak {100 * (1 - on['peak_mb'] / off['peak_mb']):.1f}% lower; memory added by the step "
          f"{100 * (1 - (on['peak_mb'] - on['before_mb']) / (off['peak_mb'] - off['before_mb'])):.1f}% lower")
    return rows
