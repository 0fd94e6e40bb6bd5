"""The generic pre-norm block every backbone stacks (MetaFormer-style: the token mixer is a plug-in), and what a
backbone needs to run a stack of them: activation checkpointing (``with_cp``) and the layer depth of a parameter
(layer-wise learning-rate decay).

Activation checkpointing: ``checkpoint_module(block, *args)`` runs ``block(*args)`` under
``torch.utils.checkpoint`` (non-reentrant): the block's intermediate activations are not kept for the backward
pass but recomputed there from its input, so a network of L blocks holds L block inputs (B, N, C) plus one
block's activations instead of all of them. The recomputation replays the forward exactly: torch restores the
RNG state, so dropout and drop-path draw the same masks. BatchNorm layers (Re-attention's head norm, the point
layers' LBRs) would update their running statistics a second time while recomputing; their buffers are put back
to their values after the forward, so a training step with checkpointing leaves the same gradients and the same
buffers as one without.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
import torch.nn as nn
from timm.layers import DropPath
from torch.utils.checkpoint import checkpoint

from .layers.mlp import Mlp
from .mixers.base import TokenMixer


class Block(nn.Module):
    """``x = x + mixer(norm1(a x)) / a`` and ``x = x + mlp(norm2(a x)) / a``, in either order.

    ``a`` is DeepViT's ``scale_adjustment`` (1 for plain blocks). FF-only runs the channel MLP first
    (``mixer_first=False``). A mixer with ``channel_prenorm = False`` normalises by itself and gets no
    ``norm1``; one with ``wants_grid = True`` receives the patch grid (:class:`TokenMixer`).

    Args:
        dim: channels C.
        mixer: the token mixer, (B, N, C) -> (B, N, C).
        mlp_ratio: hidden width of the channel MLP = int(C * mlp_ratio).
        drop: dropout inside the channel MLP.
        drop_path: stochastic-depth probability of both branches.
        norm_eps: LayerNorm epsilon.
        scale_adjustment: ``a`` above.
        mixer_first: mixer branch before the MLP branch (True for all but FF-only).
    """

    def __init__(self, dim: int, mixer: TokenMixer, mlp_ratio: float = 4.0, drop: float = 0.0,
                 drop_path: float = 0.0, norm_eps: float = 1e-6, scale_adjustment: float = 1.0,
                 mixer_first: bool = True) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps) if mixer.channel_prenorm else nn.Identity()
        self.mixer = mixer
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.scale_adjustment = scale_adjustment
        self.mixer_first = mixer_first

    def _branch(self, x: torch.Tensor, norm: nn.Module, fn: nn.Module, *args: object) -> torch.Tensor:
        a = self.scale_adjustment
        if a == 1.0:
            return x + self.drop_path(fn(norm(x), *args))
        return x + self.drop_path(fn(norm(x * a), *args) / a)

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, C); ``grid`` is the patch grid, passed to mixers that want it."""
        args = (grid,) if self.mixer.wants_grid else ()
        if self.mixer_first:
            x = self._branch(x, self.norm1, self.mixer, *args)
            return self._branch(x, self.norm2, self.mlp)
        x = self._branch(x, self.norm2, self.mlp)
        return self._branch(x, self.norm1, self.mixer, *args)


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


def stacked_layer_depth(param_name: str, prefix: str, inputs: tuple[str, ...], stack: str,
                        num_blocks: int) -> tuple[int, int]:
    """mmpretrain's ``get_layer_depth`` for a backbone of input modules, a stack of blocks and the rest.

    Depth 0 is every parameter under one of ``inputs`` (top-level names such as ``'stem'``), block ``i``
    of ``stack`` is depth ``i + 1``, and everything else - the backbone's final modules and every
    parameter outside the backbone (``param_name`` not starting with ``prefix``, e.g. the head) - is depth
    ``num_blocks + 1``.

    Returns:
        ``(layer_depth, num_layers)`` with ``num_layers = num_blocks + 2``.
    """
    num_layers = num_blocks + 2
    if not param_name.startswith(prefix):
        return num_layers - 1, num_layers
    parts = param_name[len(prefix):].split(".")
    if parts[0] in inputs:
        return 0, num_layers
    if parts[0] == stack and len(parts) > 1:
        return int(parts[1]) + 1, num_layers
    return num_layers - 1, num_layers
