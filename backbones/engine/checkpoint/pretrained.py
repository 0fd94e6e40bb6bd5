"""Pretrained weights into a model, always through the safe loader, and refused when too few keys match.

mmengine's ``PretrainedInit`` (``init_cfg=dict(type='Pretrained', checkpoint=...)``) and ``load_from`` read through
its ``CheckpointLoader`` (safe once :mod:`backbones` is imported) and only log unmatched
keys: a checkpoint of another architecture matches no key and training starts from scratch with a warning.

* :class:`SafePretrainedMixin` gives the zoo's modules an ``init_weights`` that loads their ``Pretrained`` init_cfg
  through :func:`~backbones.engine.checkpoint.loaders.load_weights` (safe after a plain ``import backbones``) and
  checks the keys (:func:`check_match`).
* :func:`match_keys` / :func:`check_match`: the share of a model's keys a state dict fills (same name and shape); below
  ``min_share`` the load is refused with the missing and unexpected keys listed. ``min_share=0`` (or ``strict=False``
  in an init_cfg) is the explicit partial load for fine-tuning.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import torch

from backbones.engine.checkpoint.loaders import load_weights

#: the share of a model's keys a checkpoint must fill unless a partial load is asked for.
DEFAULT_MIN_SHARE = 0.5
#: a logger for mmengine's lenient load that keeps its key lists to itself (the load report says them once).
QUIET_LOGGER = logging.getLogger("backbones.silent_load")
QUIET_LOGGER.propagate, QUIET_LOGGER.disabled = False, True


class KeyMismatchError(KeyError):
    """A checkpoint fills too few of a model's keys; the message names the file, the share and the keys."""

    def __str__(self) -> str:  # KeyError quotes its argument; the message reads better plain
        return str(self.args[0]) if self.args else ""


@dataclass
class KeyMatch:
    """How a state dict fits a model: keys filled, missing, unexpected and of another shape."""

    total: int
    matched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    shape: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        """Matched keys over the model's keys (1.0 for a model without keys)."""
        return len(self.matched) / self.total if self.total else 1.0

    def describe(self, limit: int = 8) -> str:
        """``missing [...] (n), unexpected [...] (n), other shape [...] (n)``, each list cut at ``limit``."""
        def cut(keys: list[str]) -> str:
            return f"{keys[:limit]}{' ...' if len(keys) > limit else ''} ({len(keys)})"
        return f"missing {cut(self.missing)}, unexpected {cut(self.unexpected)}, other shape {cut(self.shape)}"


@dataclass
class LoadReport:
    """What one load put into a model: tensors loaded of its total, tables resized on the way (old -> new shape), keys
    left at their initial values, checkpoint keys the model does not have, float tensors cast to the model's dtype."""

    source: str
    total: int
    loaded: int = 0
    resized: list[tuple[str, tuple, tuple]] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    cast: list[tuple[str, torch.dtype, torch.dtype]] = field(default_factory=list)

    def line(self, limit: int = 6) -> str:
        """The one log line: ``loaded FILE: 149 of 152 tensors; resized ...; left at init ...; unexpected ...``."""
        def cut(items: list) -> str:
            return ", ".join(map(str, items[:limit])) + (f", ... ({len(items)} in all)" if len(items) > limit else "")
        parts = [f"loaded {self.source}: {self.loaded} of {self.total} tensors"]
        if self.resized:
            parts.append("resized " + cut([f"{k} {'x'.join(map(str, a))} -> {'x'.join(map(str, b))}"
                                           for k, a, b in self.resized]))
        if self.cast:
            parts.append("cast " + cut([f"{k} {str(a).removeprefix('torch.')} -> {str(b).removeprefix('torch.')}"
                                        for k, a, b in self.cast]))
        parts.append(f"left at init: {cut(self.left) if self.left else 'none'}")
        parts.append(f"unexpected: {cut(self.unexpected) if self.unexpected else 'none'}")
        return "; ".join(parts)


def check_dtypes(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> list[tuple]:
    """The float tensors of ``state`` whose dtype differs from the model's (cast on load: listed for the report).

    Raises:
        TypeError: a tensor of a non-float dtype (int8 weights, say) where the model holds floats, or the reverse
            (key, both dtypes and the file named): copying it would silently change its values.
    """
    cast, refused = [], []
    for key, value in model.state_dict().items():
        other = state.get(key)
        if not torch.is_tensor(other) or other.dtype == value.dtype or other.shape != value.shape:
            continue
        if other.dtype.is_floating_point and value.dtype.is_floating_point:
            cast.append((key, other.dtype, value.dtype))
        else:
            refused.append(f"{key} ({str(other.dtype).removeprefix('torch.')}, the model holds "
                           f"{str(value.dtype).removeprefix('torch.')})")
    if refused:
        raise TypeError(f"checkpoint {source} holds tensors of another kind of dtype than the model: "
                        f"{', '.join(refused[:6])}{' ...' if len(refused) > 6 else ''}; a quantized or integer "
                        f"checkpoint does not load into a float model (convert it back first)")
    return cast


def report_load(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str,
                apply: Any = None) -> LoadReport:
    """Load ``state`` into ``model`` with ``apply()`` (default: torch's non-strict ``load_state_dict``) and say what
    it did: tables whose shape differs are resized by the modules' own load hooks (position embeddings) when the
    tensor changed, else left at init.

    Raises:
        TypeError: as :func:`check_dtypes` (before anything is loaded).
    """
    own = model.state_dict()
    cast = check_dtypes(model, state, source)
    other = [k for k in own if torch.is_tensor(state.get(k)) and state[k].shape != own[k].shape]
    before = {k: own[k].detach().clone() for k in other}
    (apply or (lambda: model.load_state_dict(state, strict=False)))()
    after = model.state_dict()
    resized = [(k, tuple(state[k].shape), tuple(after[k].shape)) for k in other
               if after[k].shape != before[k].shape or not torch.equal(after[k], before[k])]
    same = [k for k in own if torch.is_tensor(state.get(k)) and state[k].shape == own[k].shape]
    done = {k for k, _, _ in resized} | set(same)
    return LoadReport(source, len(own), len(done), resized, [k for k in own if k not in done],
                      sorted(set(state) - set(own)), cast)


def log_load(report: LoadReport) -> None:
    """Log a :class:`LoadReport`'s line through mmengine's current logger."""
    from mmengine.logging import print_log

    print_log(report.line(), logger="current")


def state_dict_of(checkpoint: Any, source: str) -> dict[str, torch.Tensor]:
    """The state dict inside a loaded checkpoint (``state_dict`` / ``model`` entry, or the dict itself).

    Raises:
        KeyMismatchError: the checkpoint holds no dict of tensors (``source`` named).
    """
    if isinstance(checkpoint, dict):
        for key in ("state_dict", "model"):
            if isinstance(checkpoint.get(key), dict):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, dict) or not any(torch.is_tensor(v) for v in checkpoint.values()):
        raise KeyMismatchError(f"checkpoint {source} holds no state dict of tensors")
    return {(k[7:] if k.startswith("module.") else k): v for k, v in checkpoint.items()}


def match_keys(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> KeyMatch:
    """Which of ``model``'s state-dict keys ``state`` fills with a tensor of the same shape."""
    own = model.state_dict()
    result = KeyMatch(total=len(own), unexpected=sorted(set(state) - set(own)))
    for key, value in own.items():
        if key not in state:
            result.missing.append(key)
        elif torch.is_tensor(state[key]) and state[key].shape != value.shape:
            result.shape.append(key)
        else:
            result.matched.append(key)
    return result


def check_match(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str,
                min_share: float = DEFAULT_MIN_SHARE, hint: str = "") -> KeyMatch:
    """Refuse ``state`` for ``model`` when it fills fewer than ``min_share`` of the model's keys.

    Args:
        model: the model (or module) to load into.
        state: the checkpoint's state dict (prefix already removed).
        source: how the error names the checkpoint.
        min_share: the least share of the model's keys that must match (0 accepts anything).
        hint: how to ask for a partial load, appended to the error.

    Raises:
        KeyMismatchError: fewer keys match (file, share, missing / unexpected / other-shape keys named).
    """
    found = match_keys(model, state)
    if found.share < min_share:
        raise KeyMismatchError(
            f"checkpoint {source} fills {len(found.matched)} of {found.total} keys of {type(model).__name__} "
            f"({found.share:.0%}, fewer than the {min_share:.0%} required; is it a checkpoint of another "
            f"architecture?): {found.describe()}{'; ' + hint if hint else ''}")
    return found


def load_pretrained(module: torch.nn.Module, cfg: dict) -> None:
    """Load ``cfg = dict(type='Pretrained', checkpoint=..., prefix=None, map_location='cpu', strict=True,
    min_key_share=0.0)`` into ``module`` through the safe loader.

    ``strict=True`` (the zoo's default) needs every key of the module filled and no other key (tables of another
    size are resized by the modules' own load hooks, e.g. position embeddings). ``strict=False`` is the explicit
    partial load: mmengine's lenient ``load_state_dict`` (keys of another shape skipped and logged), refused only
    below ``min_key_share`` of the module's keys.

    Raises:
        KeyMismatchError: no key starts with ``prefix``, keys do not match (strict), or too few match (the keys named).
        UnsafeCheckpointError, CheckpointReadError, FileNotFoundError: as :func:`load_weights`.
    """
    source = str(cfg["checkpoint"])
    state = state_dict_of(load_weights(source, cfg.get("map_location") or "cpu"), source)
    prefix = cfg.get("prefix")
    if prefix:
        prefix = prefix if prefix.endswith(".") else prefix + "."
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not state:
            raise KeyMismatchError(f"checkpoint {source}: no keys start with prefix {prefix!r}")
    load_state(module, state, source, cfg.get("strict", True), float(cfg.get("min_key_share", 0.0)),
               hint="init_cfg.strict=False with init_cfg.min_key_share=S accepts a partial load")


def load_state(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str, strict: bool = True,
               min_share: float = DEFAULT_MIN_SHARE, hint: str = "") -> None:
    """``state`` into ``module``: strictly (every key, no other; the modules' load hooks resize tables), or as
    mmengine's lenient ``load_state_dict`` when ``strict`` is False, refused below ``min_share`` (:func:`check_match`).

    Raises:
        KeyMismatchError: the keys do not match (strict) or too few match; ``source`` and the keys named.
    """
    if not strict:
        from mmengine.runner.checkpoint import load_state_dict

        check_match(module, state, source, min_share, hint)
        log_load(report_load(module, state, source, lambda: load_state_dict(module, state, strict=False,
                                                                            logger=QUIET_LOGGER)))
        return
    result = []
    report = report_load(module, state, source, lambda: result.extend(module.load_state_dict(state, strict=False)))
    missing, unexpected = result
    if missing or unexpected:
        found = KeyMatch(total=0, missing=list(missing), unexpected=list(unexpected))
        raise KeyMismatchError(f"checkpoint {source}: {type(module).__name__} keys not matched - "
                               f"{found.describe()}{' (' + hint + ')' if hint else ''}")
    log_load(report)


def load_checkpoint_into(model: torch.nn.Module, checkpoint: str | os.PathLike, strict: bool = True,
                         min_share: float = DEFAULT_MIN_SHARE) -> dict:
    """A checkpoint (any scheme) into ``model`` through the safe loader, as mmengine's ``load_checkpoint`` does, and
    the loaded checkpoint (for its ``meta``).

    Args:
        model: the model.
        checkpoint: path, URL or another scheme's name.
        strict: every key matched (else an error naming the missing and unexpected keys); False loads what fits,
            refused below ``min_share`` of the model's keys.
        min_share: the least share of keys for a non-strict load.

    Raises:
        KeyMismatchError: keys do not match (strict) or too few match.
        UnsafeCheckpointError, CheckpointReadError, FileNotFoundError: as :func:`load_weights`.
    """
    source = str(checkpoint)
    ckpt = load_weights(source, "cpu")
    load_state(model, state_dict_of(ckpt, source), source, strict, min_share)
    return ckpt if isinstance(ckpt, dict) else {}


def check_load_from(model: torch.nn.Module, checkpoint: Any, source: str,
                    min_share: float = DEFAULT_MIN_SHARE) -> dict[str, torch.Tensor]:
    """A ``load_from`` checkpoint mmengine has read, before it goes into ``model``: refused when it fills fewer than
    ``min_share`` of the model's keys (so a wrong file does not silently train from scratch) or holds tensors of
    another kind of dtype (:func:`check_dtypes`).

    Returns:
        its state dict (``module.`` prefixes removed).

    Raises:
        KeyMismatchError: too few keys match (file, share and keys named; how to allow a partial load).
        TypeError: as :func:`check_dtypes`.
    """
    state = state_dict_of(checkpoint, source)
    check_match(model, state, f"{source} (load_from)", min_share,
                hint="to fine-tune from part of it, lower default_hooks.checkpoint.load_from_min_share "
                     "(tools/train.py --allow-partial sets it to 0)")
    check_dtypes(model, state, source)
    return state


def split_pretrained(init_cfg: dict | list | None) -> tuple[list[dict], dict | list | None]:
    """``init_cfg`` -> (its ``Pretrained`` entries, the rest in the same form)."""
    if init_cfg is None:
        return [], None
    cfgs = list(init_cfg) if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    pretrained = [c for c in cfgs if isinstance(c, dict) and c.get("type") == "Pretrained"]
    rest = [c for c in cfgs if not (isinstance(c, dict) and c.get("type") == "Pretrained")]
    if isinstance(init_cfg, (list, tuple)):
        return pretrained, rest or None
    return pretrained, rest[0] if rest else None


class SafePretrainedMixin:
    """An ``init_weights`` for mmengine ``BaseModule`` s whose ``Pretrained`` init_cfg loads through the safe loader.

    The other init_cfg entries and the children run as mmengine runs them; then each ``Pretrained`` entry is loaded
    by :func:`load_pretrained` (strict by default, checked key by key). Put it before ``BaseModule`` in the bases.
    """

    def init_weights(self) -> None:
        """mmengine's initialisation, with ``Pretrained`` entries loaded safely and checked."""
        original = self.init_cfg
        pretrained, rest = split_pretrained(original)
        if not pretrained:
            return super().init_weights()
        self.init_cfg = rest
        try:
            super().init_weights()
        finally:
            self.init_cfg = original
        for cfg in pretrained:
            load_pretrained(self, cfg)
        self._is_init = True


__all__ = ["DEFAULT_MIN_SHARE", "QUIET_LOGGER", "KeyMatch", "KeyMismatchError", "LoadReport", "SafePretrainedMixin",
           "check_dtypes", "check_load_from", "check_match", "load_checkpoint_into", "load_pretrained", "load_state",
           "log_load", "match_keys", "report_load", "split_pretrained", "state_dict_of"]
