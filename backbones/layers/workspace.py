"""Reusable inference buffers for large intermediate maps.

A fresh (B, H, N, N) attention map is tens of megabytes (30 MB for DeepViT-16B at batch 16). glibc
serves such blocks from newly mapped pages, and the kernel zeroes every page on first touch. With two
reused buffers DeepViT-16B's inference took ~1,085 instead of ~1,300 ms per batch on 2 cores
(``tools/analysis/time_step.py``, paired whole-process runs). Inference paths therefore write their
maps into named buffers that live as long as the thread and grow to the largest size asked.
EAMLP does the same for its T2T stem's soft splits, its token layers' intermediates and its blocks'
EA maps: eamlp-7 then takes ~1-10k instead of ~24-36k page faults per batch of 16 and ran 295 instead of
311 ms per batch (medians of 9 paired whole-process runs of ``tools/analysis/time_step.py eamlp-7``).

Only for results that do not escape the caller (a recorded map is cloned); never under autograd.
"""
from __future__ import annotations

import math
import threading

import torch

_LOCAL = threading.local()


def buffer(name: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    """A contiguous tensor of ``shape`` (dtype and device of ``like``), uninitialised, reused by name."""
    store: dict[str, torch.Tensor] = _LOCAL.__dict__.setdefault("buffers", {})
    n = math.prod(shape)
    held = store.get(name)
    if held is None or held.numel() < n or held.dtype != like.dtype or held.device != like.device:
        with torch.inference_mode(False):  # a normal tensor: writable under no_grad and inference mode alike
            held = store[name] = torch.empty(n, dtype=like.dtype, device=like.device)
    return held[:n].view(shape)


def release() -> None:
    """Free this thread's buffers (they are otherwise kept for the next inference)."""
    _LOCAL.__dict__.pop("buffers", None)
