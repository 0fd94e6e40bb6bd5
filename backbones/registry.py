"""Registration and construction of token mixers.

Every mixer is registered in mmengine's *root* ``MODELS`` registry, so that configs written for
mmpretrain, mmsegmentation or plain mmengine all find it (their registries are children of the
root and fall back to it). The zoo also keeps its own list of mixer names, so that a wrong name
can be answered with the list of valid ones.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch.nn as nn
from mmengine.registry import MODELS

#: Names of the registered token mixers, in registration order.
MIXERS: dict[str, type[nn.Module]] = {}


def register_mixer(cls: type[nn.Module]) -> type[nn.Module]:
    """Class decorator: register a token mixer in the root ``MODELS`` registry and in :data:`MIXERS`."""
    MODELS.register_module(module=cls)
    MIXERS[cls.__name__] = cls
    return cls


def mixer_class(spec: Any) -> type[nn.Module]:
    """Resolve a mixer spec (name, ``dict(type=...)``, class or ``functools.partial``) to its class.

    Raises:
        KeyError: the name is not a registered mixer (the message lists the valid names).
        TypeError: the spec has an unsupported type.
    """
    if isinstance(spec, dict):
        if "type" not in spec:
            raise KeyError(f"mixer config {spec!r} has no 'type' key; valid types: {sorted(MIXERS)}")
        spec = spec["type"]
    if isinstance(spec, str):
        if spec not in MIXERS:
            raise KeyError(f"unknown token mixer {spec!r}; valid mixers: {sorted(MIXERS)}")
        return MIXERS[spec]
    func = getattr(spec, "func", spec)  # functools.partial
    if isinstance(func, type) and issubclass(func, nn.Module):
        return func
    raise TypeError(f"a mixer spec must be a name, a dict with 'type', or a module class; got {spec!r}")


def build_mixer(spec: Any, **context: Any) -> nn.Module:
    """Build a token mixer from a spec and the block's context.

    The context (``dim``, ``num_heads``, ``num_tokens``, ...) is offered by the backbone; each key is
    passed only if the mixer's constructor names it. Keys written in the spec itself are always
    passed, so a typo there fails loudly.

    Args:
        spec: mixer name, ``dict(type=name, **kwargs)``, module class or ``functools.partial``.
        **context: what the backbone knows of the block (``dim``, ``num_heads``, ``num_tokens``,
            ``grid_size``, ``qkv_bias``, ``attn_drop``, ``proj_drop``, ``token_resize``); a mixer
            receives those its constructor names.

    Returns:
        The mixer module, mapping (B, N, C) to (B, N, C).
    """
    cls = mixer_class(spec)
    kwargs = {k: v for k, v in spec.items() if k != "type"} if isinstance(spec, dict) else {}
    factory: Callable[..., nn.Module] = spec if not isinstance(spec, (str, dict)) else cls
    params = inspect.signature(cls.__init__).parameters
    preset = getattr(spec, "keywords", None) or {}
    for key, value in context.items():
        if key in params and key not in kwargs and key not in preset:
            kwargs[key] = value
    return factory(**kwargs)
