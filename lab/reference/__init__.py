"""Straightforward implementations of each paper's official code: the benchmark's baselines and the
parity tests' source models.

Each keeps the official checkpoint layout, so that an official-layout state dict made here converts with
``tools/convert_checkpoint.py`` into our models. Self-attention presets use timm's ViT / DeiT instead.

:data:`REFERENCES` maps every preset to ``(checkpoint format, factory of its reference model)``.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import nn

from lab.reference.common import randomize_
from lab.reference.deepvit import RefDeepViT, ref_deepvit
from lab.reference.eamlp import RefEAMLP, ref_eamlp, sinusoid_table
from lab.reference.ff import RefFFViT, ref_ff


def _timm(name: str, num_classes: int = 1000) -> nn.Module:
    import timm

    return timm.create_model(name, pretrained=False, num_classes=num_classes)


#: preset -> (converter format, reference factory taking ``num_classes``)
REFERENCES: dict[str, tuple[str, Callable[..., nn.Module]]] = {
    "vit-tiny": ("timm", partial(_timm, "vit_tiny_patch16_224")),
    "deit-small": ("timm", partial(_timm, "deit_small_patch16_224")),
    "deit-base": ("timm", partial(_timm, "deit_base_patch16_224")),
    **{f"ff-{s}": ("ff", partial(ref_ff, s)) for s in ("tiny", "base", "large")},
    **{f"deepvit-{s}": ("deepvit", partial(ref_deepvit, s)) for s in ("16b", "24b", "32b", "s", "l")},
    **{f"eamlp-{s}": ("eamlp", partial(ref_eamlp, s)) for s in ("7", "14", "19", "24")},
}

__all__ = ["REFERENCES", "RefDeepViT", "RefEAMLP", "RefFFViT", "randomize_", "ref_deepvit", "ref_eamlp", "ref_ff",
           "sinusoid_table"]
