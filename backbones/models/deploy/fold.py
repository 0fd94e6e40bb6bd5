"""Exact algebraic folds used by the deploy conversion (pure functions of weights).

Every fold is an identity of the inference computation (eval mode, no dropout):

* A LayerNorm of ``a x`` is a LayerNorm of ``x`` with ``eps / a^2``; its affine ``(gamma, beta)`` folds
  into the Linear after it: ``W diag(gamma)`` and ``b + W beta``.
* A branch output divided by ``a`` divides the branch's last Linear by ``a``.
* Two Linears in a row are one: ``(W2 W1, W2 b1 + b2)``.
* BatchNorm in eval mode is an affine map per channel and folds into the convolution or Linear before it.
"""
from __future__ import annotations

import torch
import torch.nn as nn


class NotFoldable(TypeError):
    """A fold was asked of a module it does not cover: a caller that did not check :func:`folds_norm` first."""


def folds_norm(norm: nn.Module, dim: int, a: float = 1.0) -> bool:
    """Whether :func:`layer_norm_parts` covers ``norm(a x)``: an ``nn.LayerNorm`` over the last axis of width
    ``dim``, or ``nn.Identity`` with ``a = 1``."""
    if isinstance(norm, nn.Identity):
        return a == 1.0
    return isinstance(norm, nn.LayerNorm) and tuple(norm.normalized_shape) == (dim,)


def layer_norm_parts(norm: nn.Module, dim: int,
                     a: float = 1.0) -> tuple[float | None, torch.Tensor | None, torch.Tensor | None]:
    """(eps, gamma, beta) of ``norm(a x)`` written as an affine-free LayerNorm of ``x`` then an affine.

    ``norm`` is an ``nn.LayerNorm`` over the last axis of width ``dim``, or ``nn.Identity`` (no
    normalisation: eps None; only with a = 1): what :func:`folds_norm` accepts.

    Raises:
        NotFoldable: any other norm (check :func:`folds_norm` first).
    """
    if not folds_norm(norm, dim, a):
        raise NotFoldable(f"cannot fold {type(norm).__name__} (width {dim}, scale {a})")
    if isinstance(norm, nn.Identity):
        return None, None, None
    gamma = norm.weight.detach() if norm.weight is not None else None
    beta = norm.bias.detach() if norm.bias is not None else None
    return norm.eps / (a * a), gamma, beta


def fold_affine(weight: torch.Tensor, bias: torch.Tensor | None, gamma: torch.Tensor | None,
                beta: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The affine ``y = gamma * z + beta`` followed by ``Linear(weight, bias)`` as one Linear of ``z``.

    Args:
        weight: (M, K); bias: (M,) or None; gamma, beta: (K,) or None.

    Returns:
        (M, K) weight ``W diag(gamma)`` and (M,) bias ``b + W beta``.
    """
    weight = weight.detach()
    bias = weight.new_zeros(weight.shape[0]) if bias is None else bias.detach()
    if beta is not None:
        bias = bias + weight @ beta
    if gamma is not None:
        weight = weight * gamma
    return weight, bias


def compose(first: tuple[torch.Tensor, torch.Tensor | None],
            second: tuple[torch.Tensor, torch.Tensor | None]) -> tuple[torch.Tensor, torch.Tensor]:
    """``Linear(second)(Linear(first)(z))`` as one Linear: ``(W2 W1, W2 b1 + b2)``."""
    w1, b1 = first
    w2, b2 = second
    bias = w2.new_zeros(w2.shape[0]) if b2 is None else b2.detach()
    if b1 is not None:
        bias = bias + w2 @ b1.detach()
    return w2.detach() @ w1.detach(), bias


def batch_norm_scale_shift(bn: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode BatchNorm as ``y = x * scale + shift`` per channel."""
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale
    if bn.bias is not None:
        shift = shift + bn.bias
    return scale.detach(), shift.detach()


def fold_conv_bn(conv: nn.Conv2d, bn: nn.modules.batchnorm._BatchNorm) -> nn.Conv2d:
    """``bn(conv(x))`` in eval mode as one convolution with a bias."""
    scale, shift = batch_norm_scale_shift(bn)
    out = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                    conv.dilation, conv.groups, bias=True)
    with torch.no_grad():
        out.weight.copy_(conv.weight * scale[:, None, None, None])
        bias = conv.bias.detach() * scale if conv.bias is not None else torch.zeros_like(shift)
        out.bias.copy_(bias + shift)
    return out.requires_grad_(False)
