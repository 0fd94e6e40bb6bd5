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

import inspect
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
import torch.nn as nn
from timm.layers import DropPath
from torch.utils.checkpoint import checkpoint

from backbones.models.deploy.base import DeployModule
from backbones.models.layers.mlp import Mlp
from backbones.models.mixers import TokenMixer, build_mixer, mixer_class


class Block(nn.Module):
    """``x = x + mixer(norm1(a x)) / a`` and ``x = x + mlp(norm2(a x)) / a``, in either order: the one block of the
    image and point backbones.

    ``a`` is DeepViT's ``scale_adjustment`` (1 for plain blocks). FF-only runs the channel MLP first
    (``mixer_first=False``); PCT's point layers have no MLP (``mlp_ratio=0``). A mixer with
    ``channel_prenorm = False`` normalises by itself and gets no ``norm1``; one with ``wants_grid = True``
    receives the patch grid (:class:`~backbones.models.mixers.TokenMixer`).

    Args:
        dim: channels C.
        mixer: the token mixer, (B, N, C) -> (B, N, C).
        mlp_ratio: hidden width of the channel MLP = int(C * mlp_ratio); 0: no MLP branch.
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
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps) if mlp_ratio > 0 else None
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop) if mlp_ratio > 0 else None
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.scale_adjustment = scale_adjustment
        self.mixer_first = mixer_first

    def branches(self) -> list[tuple[nn.Module, nn.Module]]:
        """The residual branches as (norm, module), in the order they run."""
        mixer, mlp = (self.norm1, self.mixer), (self.norm2, self.mlp)
        if self.mlp is None:
            return [mixer]
        return [mixer, mlp] if self.mixer_first else [mlp, mixer]

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, C); ``grid`` is the patch grid, passed to mixers that want it."""
        a = self.scale_adjustment
        for norm, fn in self.branches():
            args = (grid,) if fn.wants_grid else ()
            if a == 1.0:
                x = x + self.drop_path(fn(norm(x), *args))
            else:
                x = x + self.drop_path(fn(norm(x * a), *args) / a)
        return x

    def to_deploy(self, first_token_only: bool = False) -> DeployBlock:
        """The inference form: each branch's own (``deploy_branch`` of the mixer and the MLP), drop-path gone."""
        a = self.scale_adjustment
        return DeployBlock([fn.deploy_branch(norm, a) for norm, fn in self.branches()], first_token_only)


class DeployBlock(DeployModule):
    """A block at inference: its residual branches in order, ``x = branch(x, grid)`` for each.

    With ``first_token_only`` the block returns the first (class) token alone, (B, N, C) -> (B, 1, C): its
    last token-mixing branch computes only that token's output (:meth:`DeployModule.first_token`) and the
    branches after it run on that token (with no token-mixing branch, every branch runs on that token).
    """

    def __init__(self, branches: list[DeployModule], first_token_only: bool = False) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.first_token_only, self.reduce_at = False, None
        if first_token_only:
            self.keep_first_token()

    def keep_first_token(self) -> DeployBlock:
        """Switch to returning the first (class) token alone (the block's own switch; the backbone asks for it when
        that token is all it outputs); returns the block."""
        mixing = [i for i, b in enumerate(self.branches) if b.mixes_tokens]
        self.first_token_only, self.reduce_at = True, (mixing[-1] if mixing else -1)
        return self

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, C), or (B, 1, C) with ``first_token_only``."""
        if self.reduce_at == -1:
            x = x[:, :1]
        for i, branch in enumerate(self.branches):
            x = branch.first_token(x, grid) if i == self.reduce_at else branch(x, grid)
        return x


def build_blocks(mixer: Any, depth: int, dim: int, *, mlp_ratio: float = 4.0, drop: float = 0.0,
                 drop_path_rate: float = 0.0, norm_eps: float = 1e-6, scale_adjustment: float = 1.0,
                 mixer_first: bool = True, global_blocks: Sequence[int] = (), **settings: Any) -> nn.ModuleList:
    """The blocks of a backbone, each with its own mixer built in one context.

    Args:
        mixer: one mixer spec (name, dict, class, partial) for every block, or a list with one per block.
        depth: number of blocks.
        dim: channels C.
        mlp_ratio, drop, norm_eps, scale_adjustment, mixer_first: as :class:`Block`.
        drop_path_rate: stochastic depth, rising linearly from 0 (first block) to this (last block).
        global_blocks: blocks offered ``window_size=None`` (global attention) whatever ``settings`` says (ViTDet's
            few global blocks among windowed ones, Li et al. 2022).
        **settings: the block settings offered to every mixer (``num_heads``, ``num_tokens``, ``grid_size``,
            ``qkv_bias``, ``attn_drop``, ``proj_drop``, ``token_resize``, ``window_size``;
            :func:`~backbones.models.mixers.build_mixer`).

    Raises:
        ValueError: a mixer list of another length than ``depth``, a mixer built for a fixed token count
            when the count is unknown (``num_tokens`` None), or a global block out of range.
    """
    specs = list(mixer) if isinstance(mixer, (list, tuple)) else [mixer] * depth
    if len(specs) != depth:
        raise ValueError(f"got {len(specs)} mixer specs for {depth} blocks; give one spec for all blocks or a list "
                         f"of {depth}")
    if settings.get("num_tokens") is None:
        settings.pop("num_tokens", None)
        for spec in specs:
            _check_token_count(spec)
    bad = [i for i in global_blocks if not (isinstance(i, int) and 0 <= i < depth)]
    if bad:
        raise ValueError(f"global_blocks {list(global_blocks)}: {bad} out of range for {depth} blocks (0..{depth - 1})")
    blocks = nn.ModuleList()
    for i, spec in enumerate(specs):
        offered = dict(settings, window_size=None) if i in global_blocks else settings
        blocks.append(Block(dim, build_mixer(spec, dim, **offered), mlp_ratio, drop,
                            drop_path_rate * i / max(depth - 1, 1), norm_eps, scale_adjustment, mixer_first))
    return blocks


def _check_token_count(spec: Any) -> None:
    cls = mixer_class(spec)
    needs = "num_tokens" in cls.settings and \
        inspect.signature(cls).parameters["num_tokens"].default is inspect.Parameter.empty
    if needs and not (isinstance(spec, dict) and "num_tokens" in spec):
        raise ValueError(f"mixer {cls.__name__} is built for a fixed number of tokens, but the token count is "
                         f"unknown: give the backbone a fixed input size (e.g. num_points) or sample a fixed "
                         f"number of tokens")


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
