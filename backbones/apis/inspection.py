"""What a model costs and whether a preset is whole: parameters and FLOPs of a config's model or of every preset,
and the preset check (official parameter count, finite forward) of ``backbones-flops`` and ``backbones-demo``."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn as nn

from backbones.apis.loading import load_model
from backbones.deploy import convert_to_deploy
from backbones.models.flop_count import forward_flops
from backbones.models.presets import PRESETS
from backbones.models.vit import MixerViT


def flops_of(model: nn.Module, shape: tuple[int, int], forward: Callable | None = None) -> int:
    """FLOPs (2 per multiply-add) of one forward at (1, 3, H, W) (:func:`backbones.models.flop_count.forward_flops`);
    ``forward`` replaces ``model`` as the function counted."""
    return forward_flops(forward or model, torch.randn(1, 3, *shape))


def preset_flops(shape: tuple[int, int], deploy: bool = False) -> list[dict]:
    """``model``, ``params`` (of the trainable model, 1000-class head included) and ``gflops`` of every preset at
    ``shape``; ``deploy``: counted on the deploy form."""
    rows = []
    for name in PRESETS:
        bb = MixerViT(name, img_size=tuple(shape))
        head = nn.Linear(bb.embed_dims, 1000)
        params = sum(p.numel() for m in (bb, head) for p in m.parameters())
        bb = convert_to_deploy(bb) if deploy else bb.eval()
        fl = flops_of(bb, shape, lambda x, bb=bb, head=head: head(bb(x)[-1]))
        rows.append(dict(model=name, params=params, gflops=fl / 1e9))
    return rows


def config_flops(config: str, shape: tuple[int, int], deploy: bool = False) -> dict:
    """``model`` (the config's name), ``params`` and ``gflops`` of a config's model at ``shape``."""
    _, model = load_model(config, None)
    params = sum(p.numel() for p in model.parameters())
    model = convert_to_deploy(model) if deploy else model.eval()
    fl = flops_of(model, shape, lambda x: model(x, mode="tensor"))
    return dict(model=Path(config).stem, params=params, gflops=fl / 1e9)


def check_preset(arch: str, img_size: int) -> tuple[int, float, bool]:
    """Build ``arch`` with a 1000-class head; return (parameters, forward seconds of 2 images, output finite and
    shaped (2, 1000))."""
    torch.manual_seed(0)
    backbone = MixerViT(arch, img_size=img_size).eval()
    head = nn.Linear(backbone.embed_dims, 1000)
    params = sum(p.numel() for p in backbone.parameters()) + sum(p.numel() for p in head.parameters())
    x = torch.randn(2, 3, img_size, img_size)
    start = time.perf_counter()
    with torch.inference_mode():
        logits = head(backbone(x)[-1])
    seconds = time.perf_counter() - start
    return params, seconds, bool(torch.isfinite(logits).all()) and logits.shape == (2, 1000)
