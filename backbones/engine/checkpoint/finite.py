"""Refuse a model whose loaded weights hold NaN or infinity (a diverged or damaged training).

The generate, test and export tools loaded such a checkpoint and produced an all-black grid, a meaningless
accuracy or an exported file, exit 0. :func:`check_finite_weights` names the checkpoint and the first tensor with
a non-finite value: parameters may hold neither NaN nor infinity; buffers may not hold NaN (an infinite buffer can
be a mask).
"""
from __future__ import annotations

import torch


class NonFiniteWeightsError(ValueError):
    """A loaded model holds NaN or infinite weights (the message names the checkpoint and the tensor)."""


def first_non_finite(model: torch.nn.Module) -> tuple[str, int, int] | None:
    """(name, number of bad values, number of values) of the first parameter with a NaN or an infinity, or of the
    first buffer with a NaN, in ``model.named_parameters()`` then ``named_buffers()`` order; None if there is none."""
    for name, p in model.named_parameters():
        if p.is_floating_point():
            bad = int((~torch.isfinite(p.detach())).sum())
            if bad:
                return name, bad, p.numel()
    for name, b in model.named_buffers():
        if b.is_floating_point():
            bad = int(torch.isnan(b).sum())
            if bad:
                return name, bad, b.numel()
    return None


def check_finite_weights(model: torch.nn.Module, source: str) -> None:
    """Raise :class:`NonFiniteWeightsError` naming ``source`` (the checkpoint) and the first non-finite tensor.

    Args:
        model: the model with the checkpoint loaded.
        source: the checkpoint, for the message.
    """
    found = first_non_finite(model)
    if found is not None:
        name, bad, total = found
        raise NonFiniteWeightsError(
            f"checkpoint {source}: weight {name!r} holds {bad} NaN or infinite values (of {total}; the first "
            f"non-finite tensor): the training diverged or the file was damaged, and every output would be "
            f"meaningless; use an earlier checkpoint")
