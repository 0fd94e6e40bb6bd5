"""The inference-only modules the deploy conversion builds, and what they share.

A module of the zoo that has a faster inference form says so in its own file, through one hook:

* blocks, stems and backbones define ``to_deploy() -> nn.Module`` (the module that replaces them);
* token mixers and the channel MLP define ``deploy_branch(norm, scale) -> DeployModule``: the inference
  form of the residual branch ``x + f(norm(scale * x)) / scale`` they sit in (the block passes its norm
  and DeepViT's scale adjustment, so the branch folds them).

:func:`backbones.deploy.convert_to_deploy` only walks the model and calls ``to_deploy``.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def bare_norm(x: torch.Tensor, eps: float | None) -> torch.Tensor:
    """LayerNorm without affine over the last axis (``eps`` None: identity)."""
    return x if eps is None else F.layer_norm(x, x.shape[-1:], None, None, eps)


def frozen_linear(weight: torch.Tensor, bias: torch.Tensor | None = None) -> nn.Linear:
    """An ``nn.Linear`` (no gradients) holding a folded (out, in) ``weight`` and (out,) ``bias``.

    The deploy forms keep each of their channel Linears as such a module, so that what works on Linear modules
    (``torch.ao.quantization.quantize_dynamic``, the precision pass of :mod:`backbones.deploy.precision`, a user's
    own quantizer) sees their weights.
    """
    out_features, in_features = weight.shape
    layer = nn.Linear(in_features, out_features, bias=bias is not None, device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)
    return layer.requires_grad_(False).eval()


class DeployModule(nn.Module):
    """Base of the inference-only modules: they hold their folded weights (channel Linears as
    :func:`frozen_linear` modules, other weights as buffers), keep no state between calls and cannot be put back
    into training mode.

    A residual branch (``forward(x, grid)``, (B, N, C) -> (B, N, C), the residual included) also says whether
    it mixes tokens and gives the result for the first (class) token alone, (B, N, C) -> (B, 1, C): a backbone
    whose only output is the class token needs no more from its last block.
    """

    mixes_tokens = True

    def train(self, mode: bool = True) -> DeployModule:
        """Only ``train(False)`` (``eval()``) is allowed."""
        if mode:
            raise RuntimeError(f"{type(self).__name__} is an inference module made by convert_to_deploy; train the "
                               f"plain model instead")
        return super().train(False)

    def for_precision(self, precision: str) -> None:
        """Called by the precision pass (:func:`backbones.deploy.precision.apply_precision`) before it casts or
        quantizes: a module whose fastest float32 layout reads a weight as a plain matrix (a product over another
        axis, a transposed layout) gives that product as a :func:`frozen_linear` module for ``int8`` here, so the
        quantizers see it. Default: nothing."""

    @classmethod
    def covers(cls, norm: nn.Module, fn: nn.Module, a: float = 1.0) -> bool:
        """Whether this branch form folds ``x + fn(norm(a x)) / a`` (:func:`folded_or_plain` asks before building);
        a folded branch says which norms, activations and options its folds cover."""
        return True

    def _buffers_from(self, **tensors: torch.Tensor | None) -> None:
        for name, t in tensors.items():
            self.register_buffer(name, None if t is None else t.detach().clone().contiguous())

    def first_token(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """The branch's output for the first token only, (B, N, C) -> (B, 1, C)."""
        return self(x, grid)[:, :1]


class ModuleBranch(DeployModule):
    """``x + f(norm(a x)) / a`` with the trained modules (eval mode): the inference form of a branch whose
    module has no folded one (the default of ``TokenMixer.deploy_branch``).

    Args:
        norm: the branch's norm (``nn.Identity`` for none).
        fn: the branch's module, (B, N, C) -> (B, N, C), declaring ``mixes_tokens`` and ``wants_grid`` (the
            token mixers' contract; the channel MLP declares both False); with ``wants_grid`` it gets the grid.
        scale: DeepViT's scale adjustment ``a``.
    """

    def __init__(self, norm: nn.Module, fn: nn.Module, scale: float = 1.0) -> None:
        super().__init__()
        self.norm, self.fn, self.a = norm, fn, scale
        self.wants_grid, self.mixes_tokens = fn.wants_grid, fn.mixes_tokens

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, C)."""
        args = (grid,) if self.wants_grid else ()
        if self.a == 1.0:
            return x + self.fn(self.norm(x), *args)
        return x + self.fn(self.norm(x * self.a), *args) / self.a


def folded_or_plain(branch: type[DeployModule], norm: nn.Module, fn: nn.Module, scale: float) -> DeployModule:
    """``branch(norm, fn, scale)``, the branch with folded weights, when its ``covers(norm, fn, scale)`` says the
    folds cover the branch's modules; else the plain :class:`ModuleBranch`."""
    return branch(norm, fn, scale) if branch.covers(norm, fn, scale) else ModuleBranch(norm, fn, scale)
