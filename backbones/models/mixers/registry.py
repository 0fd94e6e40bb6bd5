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

from backbones.models.mixers.base import GEOMETRY, NEUTRAL, TokenMixer

#: Names of the registered token mixers, in registration order.
MIXERS: dict[str, type[nn.Module]] = {}


def register_mixer(cls: type[TokenMixer]) -> type[TokenMixer]:
    """Class decorator: register a token mixer in the root ``MODELS`` registry and in :data:`MIXERS`.

    Raises:
        TypeError: the class is not a :class:`TokenMixer`, or its ``settings`` name an argument its
            constructor lacks.
    """
    _check_mixer_class(cls)
    MODELS.register_module(module=cls)
    MIXERS[cls.__name__] = cls
    return cls


def _check_mixer_class(cls: type) -> None:
    if not (isinstance(cls, type) and issubclass(cls, TokenMixer)):
        raise TypeError(f"{cls!r} is not a token mixer: mixer classes subclass backbones.models.mixers.TokenMixer")
    params = inspect.signature(cls.__init__).parameters
    missing = [k for k in ("dim", *cls.settings) if k not in params]
    if missing:
        raise TypeError(f"{cls.__name__} declares settings its constructor does not take: {missing}")


def mixer_class(spec: Any) -> type[TokenMixer]:
    """Resolve a mixer spec (name, ``dict(type=...)``, class or ``functools.partial``) to its class.

    Raises:
        KeyError: the name is not a registered mixer (the message lists the valid names).
        TypeError: the spec has an unsupported type, or its class is not a :class:`TokenMixer`.
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
        _check_mixer_class(func)
        return func
    raise TypeError(f"a mixer spec must be a name, a dict with 'type', or a module class; got {spec!r}")


def build_mixer(spec: Any, dim: int, **context: Any) -> TokenMixer:
    """Build a token mixer from a spec and the block's settings.

    The mixer receives ``dim`` and exactly the settings its class declares (``TokenMixer.settings``);
    keys written in the spec itself win over the block's. Geometry (``num_heads``, ``num_tokens``,
    ``grid_size``) is only offered; any other setting with a value other than its neutral one
    (``qkv_bias=True``, ``attn_drop=0``, ``proj_drop=0``, ``token_resize=None``, ``window_size=None``) is refused
    when the mixer does not declare it, so no configured choice is silently ignored.

    Args:
        spec: mixer name, ``dict(type=name, **kwargs)``, mixer class or ``functools.partial``.
        dim: channels C.
        **context: the block's settings (:data:`backbones.models.mixers.base.GEOMETRY` and ``NEUTRAL`` keys).

    Returns:
        The mixer module, mapping (B, N, C) to (B, N, C).

    Raises:
        TypeError: a setting the mixer does not take was given a non-neutral value, or a context key is
            not a block setting.
    """
    cls = mixer_class(spec)
    kwargs = {k: v for k, v in spec.items() if k != "type"} if isinstance(spec, dict) else {}
    factory: Callable[..., TokenMixer] = spec if not isinstance(spec, (str, dict)) else cls
    preset = getattr(spec, "keywords", None) or {}
    for key, value in context.items():
        if key not in GEOMETRY and key not in NEUTRAL:
            raise TypeError(f"build_mixer: {key!r} is not a block setting; valid: {sorted(GEOMETRY + tuple(NEUTRAL))}")
        if key in cls.settings:
            if key not in kwargs and key not in preset:
                kwargs[key] = value
        elif key in NEUTRAL and value != NEUTRAL[key]:
            raise TypeError(f"{cls.__name__} does not take the block setting {key}={value!r} (it takes "
                            f"{list(cls.settings) or 'none'}); leave it at {NEUTRAL[key]!r} for this mixer or use "
                            f"another mixer")
    return factory(dim=dim, **kwargs)
