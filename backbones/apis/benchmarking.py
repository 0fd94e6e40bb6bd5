"""The user benchmark's measurements (``backbones-benchmark`` prints them): a preset with a 1000-class head or a
config's model, timed plain and in each deploy precision, with its FLOP rate against the machine's GEMM rate."""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import torch
import torch.nn as nn

from backbones.apis.timing import median_ms
from backbones.deploy import convert_to_deploy
from backbones.models.flop_count import forward_flops


class TensorForward(nn.Module):
    """A model's tensor forward as a module of its inputs: a preset's backbone and head (logits of the last
    output), or a config's model (``mode='tensor'``)."""

    def __init__(self, model: nn.Module, head: nn.Module | None = None) -> None:
        super().__init__()
        self.model, self.head = model, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) -> the model's tensor output (B, K) for a preset."""
        if self.head is not None:
            return self.head(self.model(x)[-1])
        return self.model(x, mode="tensor")


def build_target(target: str, img: int) -> nn.Module:
    """The model to time, in eval mode: a preset with a 1000-class head at ``img`` px, or a config's model
    (``*.py``) at its own size."""
    if target.endswith(".py"):
        from mmengine.config import Config

        from backbones.engine.runner.config import build_model, resolve_auto_num_classes

        cfg = Config.fromfile(target)
        resolve_auto_num_classes(cfg)
        return TensorForward(build_model(cfg)).eval()
    from backbones.models.vit import MixerViT

    backbone = MixerViT(target, img_size=img)
    return TensorForward(backbone, nn.Linear(backbone.embed_dims, 1000)).eval()


@dataclass
class FormTiming:
    """One form's time: ``name`` ('plain', 'deploy', 'deploy int8 calibrated', ...), ``precision``, the median and
    range of a batch's milliseconds, and the forward's FLOPs (2 per multiply-add)."""

    name: str
    precision: str
    median: float
    low: float
    high: float
    flops: int


def _run_on(x: torch.Tensor, model: nn.Module) -> None:
    model(x)


def time_forms(plain: nn.Module, x: torch.Tensor, precisions: list[str], calibrated: bool, iters: int,
               warmup: int) -> list[FormTiming]:
    """Time ``plain`` on ``x`` and its deploy form in each precision (int8 also with scales calibrated on ``x``
    when ``calibrated``); each deploy form converts a copy."""
    with torch.no_grad():
        flops = forward_flops(plain, x)
        forms = [("plain", "fp32", False)] + [("deploy", p, False) for p in dict.fromkeys(precisions)]
        if calibrated and "int8" in precisions:
            forms.append(("deploy", "int8", True))
        out = []
        for form, precision, calib in forms:
            calibrate = functools.partial(_run_on, x) if calib else None
            model = plain if form == "plain" else convert_to_deploy(copy.deepcopy(plain), precision, calibrate)
            med, low, high = median_ms(functools.partial(model, x), iters, warmup)
            name = form if precision == "fp32" else f"{form} {precision}" + (" calibrated" if calib else "")
            out.append(FormTiming(name, precision, med, low, high, flops))
    return out
