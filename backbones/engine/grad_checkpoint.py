"""Activation checkpointing of one block, the mechanism behind the backbones' ``with_cp`` (mmpretrain's name).

``checkpoint_module(block, *args)`` runs ``block(*args)`` under ``torch.utils.checkpoint`` (non-reentrant): the
block's intermediate activations are not kept for the backward pass but recomputed there from its input, so
a network of L blocks holds L block inputs (B, N, C) plus one block's activations instead of all of them.

The recomputation replays the forward exactly: torch restores the RNG state, so dropout and drop-path draw
the same masks. BatchNorm layers (Re-attention's head norm, the point layers' LBRs) would update their
running statistics a second time while recomputing; their buffers are put back to their values after the
forward, so a training step with checkpointing leaves the same gradients and the same buffers as one without.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
import torch.nn as nn
from torch.utils.checkpoint import checkpoint


def _running_stats(module: nn.Module) -> list[torch.Tensor]:
    """Buffers of the training-mode BatchNorms under ``module`` (running mean / var, batch counter)."""
    return [b for m in module.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training and m.track_running_stats
            for b in m.buffers()]


@contextmanager
def _keep_buffers(buffers: list[torch.Tensor]) -> Iterator[None]:
    """Restore ``buffers`` to their values at entry when the block exits."""
    saved = [b.detach().clone() for b in buffers]
    try:
        yield
    finally:
        with torch.no_grad():
            for b, s in zip(buffers, saved):
                b.copy_(s)


def checkpoint_module(module: nn.Module, *args: Any) -> Any:
    """``module(*args)`` with its activations recomputed in the backward pass instead of stored.

    Args:
        module: the block, e.g. (B, N, C) -> (B, N, C).
        *args: its positional inputs (tensors and plain values such as the patch grid).

    Returns:
        What ``module(*args)`` returns.
    """
    buffers = _running_stats(module)
    if not buffers:
        return checkpoint(module, *args, use_reentrant=False)
    return checkpoint(module, *args, use_reentrant=False,
                      context_fn=lambda: (nullcontext(), _keep_buffers(buffers)))


def wants_checkpoint(module: nn.Module, with_cp: bool) -> bool:
    """Checkpoint only where it saves memory: ``with_cp`` set, training mode and autograd recording."""
    return with_cp and module.training and torch.is_grad_enabled()
