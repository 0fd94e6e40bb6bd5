"""The deploy conversion: a trained model, once, into its inference form (RepVGG's ``switch_to_deploy`` idea).

:func:`convert_to_deploy` walks a model (a backbone, a classifier, a segmentor, a point-cloud model) bottom-up and
replaces, in place, every module that defines ``to_deploy()`` by what it returns, after its children are converted:
the zoo's blocks, foldable stems and backbones each define their own inference form (their own switch) in their own
file (:mod:`backbones.models.deploy.base`). The walk is one way: no module calls back into it.
Everything else (heads, necks, plain stems) stays as it is, in eval mode. The converted model computes what
the plain model computes in eval mode (to float rounding), holds only its folded weights, keeps no state
between calls and can be traced and exported; it cannot be trained (``train()`` raises), so training,
validation during training, EMA and analysis hooks always see the plain model.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from backbones.models.deploy.base import DeployModule


def convert_to_deploy(model: nn.Module, precision: str = "fp32", calibrate: Callable[[nn.Module], Any] | None = None
                      ) -> nn.Module:
    """Replace every module of ``model`` that has an inference form (``to_deploy()``) by that form.

    The model is put in eval mode first (BatchNorm statistics and dropout as at inference). Containers
    are converted in place; converting an already converted model changes nothing.

    Args:
        model: a module containing the zoo's blocks (MixerViT, PointMixerBackbone, a model around them).
        precision: ``fp32``, ``bf16`` (the deploy forms in bfloat16) or ``int8`` (every Linear int8 per output
            channel, activations quantized dynamically): :mod:`backbones.deploy.precision`.
        calibrate: with ``int8``, activations quantized with scales calibrated by ``calibrate(model)`` (it runs the
            calibration data through the model; :func:`~backbones.deploy.precision.apply_precision`).

    Returns:
        The converted model in eval mode: ``model`` itself, unless ``model`` has an inference form itself.

    Raises:
        ValueError: an unknown precision, or ``model`` already converted to another reduced precision (e.g. int8,
            then bf16: refused before the model is changed).
    """
    from backbones.deploy.precision import PRECISIONS, apply_precision, refuse_precision_change

    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: expected one of {list(PRECISIONS)}")
    refuse_precision_change(model, precision)  # before anything changes
    model.eval()
    with torch.no_grad():
        return apply_precision(_convert(model).eval(), precision, calibrate)


def _convert(module: nn.Module) -> nn.Module:
    """``module`` with its children converted (in place), then its own switch (``to_deploy``) if it has one."""
    for name in [name for name, _ in module.named_children()]:  # names only: no list keeps the plain children
        child = getattr(module, name)                              # alive, each is freed once replaced
        converted = _convert(child)
        if converted is not child:
            setattr(module, name, converted.eval())
    to_deploy = getattr(module, "to_deploy", None)  # the switch of the zoo's blocks, stems and backbones
    return to_deploy() if callable(to_deploy) else module


def is_deployed(model: nn.Module) -> bool:
    """Whether ``model`` contains modules made by :func:`convert_to_deploy`."""
    return any(isinstance(m, DeployModule) for m in model.modules())
