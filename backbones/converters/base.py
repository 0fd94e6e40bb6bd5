"""The conversion engine shared by every checkpoint format.

A format is a list of ``(regex, replacement)`` key renames (first match wins, unmatched keys are
kept) plus optional tensor reshapes. The converted backbone keys are matched against every preset
of the zoo (built on the meta device, so nothing is allocated) to find the one architecture whose
keys and shapes all agree; anything left over is an error naming the keys.
"""
from __future__ import annotations

import argparse
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from backbones.engine.checkpoint.safe_load import SAFETENSORS_SUFFIX, UnsafeCheckpointError, safe_load
from backbones.models.presets import PRESETS
from backbones.models.vit import MixerViT
from backbones.utils.files import write_atomic

#: container keys of official checkpoints, most preferred first (EMA weights win).
CONTAINER_KEYS = ("state_dict_ema", "model_ema", "state_dict", "model", "net")


class ConversionError(ValueError):
    """A checkpoint cannot be converted: the message names the file and the offending keys."""


@dataclass
class Format:
    """A checkpoint format: key renames, per-key tensor transforms, the classifier's key prefix."""

    name: str
    renames: list[tuple[str, str]]
    transforms: dict[str, Callable[[torch.Tensor], torch.Tensor]] = field(default_factory=dict)
    head_prefix: str = "head."
    #: for formats that are not MixerViT classifiers (EANet): checks the renamed state dict instead of
    #: matching it to a preset, and returns the model's name (raising ConversionError on a mismatch).
    validate: Callable[[dict[str, torch.Tensor], str], str] | None = None

    def rename(self, key: str) -> str:
        """The backbone (or ``head.fc.``) key for a source key."""
        if key.startswith(self.head_prefix):
            return "head.fc." + key[len(self.head_prefix):]
        for pattern, repl in self.renames:
            new, n = re.subn(pattern, repl, key)
            if n:
                return new
        return key


#: the types official training checkpoints pickle beside their tensors (their argparse arguments).
OFFICIAL_GLOBALS = [argparse.Namespace]


def load_source(path: str, unsafe_full_unpickle: bool = False) -> tuple[dict[str, torch.Tensor], str]:
    """Read a checkpoint file and return its (EMA if present) state dict without ``module.`` prefixes.

    The file is read with torch's weights-only unpickler, allowing mmengine's checkpoint types and
    :data:`OFFICIAL_GLOBALS`; anything else (code) is refused with an error naming the file and the global.

    Args:
        path: the checkpoint file.
        unsafe_full_unpickle: unpickle everything (``weights_only=False``): a crafted file then runs any code
            it contains. Only for files from a source you trust that the safe loader refused.

    Returns:
        (state dict, the container key it came from or 'raw').
    """
    if not os.path.isfile(path):
        raise ConversionError(f"{path}: no such checkpoint file")
    try:
        if unsafe_full_unpickle:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        else:
            obj = safe_load(path, "cpu", extra_globals=OFFICIAL_GLOBALS)
    except UnsafeCheckpointError as e:
        raise ConversionError(f"{e}. Convert only files you trust; --unsafe-full-unpickle loads them anyway "
                              f"(and runs whatever code they hold)") from None
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a corrupt file to the user
        raise ConversionError(f"{path}: not a readable PyTorch checkpoint ({type(e).__name__}: {e})") from e
    source = "raw"
    if isinstance(obj, dict):
        for key in CONTAINER_KEYS:
            if isinstance(obj.get(key), dict) and obj[key]:
                obj, source = obj[key], key
                break
    if not isinstance(obj, dict) or not obj or not all(torch.is_tensor(v) for v in obj.values()):
        raise ConversionError(f"{path}: expected a state dict of tensors (or one under {CONTAINER_KEYS})")
    return {k[7:] if k.startswith("module.") else k: v for k, v in obj.items()}, source


def expected_shapes(arch: str) -> dict[str, torch.Size]:
    """Backbone state-dict shapes of a preset, built on the meta device."""
    with torch.device("meta"):
        model = MixerViT(arch)
    return {k: v.shape for k, v in model.state_dict().items()}


def match_arch(backbone: dict[str, torch.Tensor], candidates: list[str], path: str) -> str:
    """The single preset whose keys and shapes equal ``backbone``'s; else an error naming the mismatches."""
    best, best_report = None, None
    for arch in candidates:
        want = expected_shapes(arch)
        missing = sorted(set(want) - set(backbone))
        unknown = sorted(set(backbone) - set(want))
        shape = sorted(k for k in set(want) & set(backbone) if tuple(want[k]) != tuple(backbone[k].shape))
        if not (missing or unknown or shape):
            return arch
        score = len(missing) + len(unknown) + len(shape)
        if best_report is None or score < best_report[0]:
            best, best_report = arch, (score, missing, unknown, shape)
    _, missing, unknown, shape = best_report
    fmt = lambda ks: ", ".join(ks[:8]) + (f" (+{len(ks) - 8} more)" if len(ks) > 8 else "")  # noqa: E731
    raise ConversionError(
        f"{path}: matches no preset of {candidates}. Closest is {best!r}: "
        + "; ".join(f"{what}: {fmt(ks)}" for what, ks in
                    (("missing keys", missing), ("unknown keys", unknown), ("shape mismatch", shape)) if ks))


def convert_state(fmt: Format, state: dict[str, torch.Tensor], path: str = "<state>",
                  arch: str | None = None, candidates: list[str] | None = None) -> tuple[str, dict[str, torch.Tensor]]:
    """Convert a source state dict to an mmpretrain ``ImageClassifier`` state dict of a preset.

    Returns:
        (preset name, ``{'backbone.*': ..., 'head.fc.*': ...}``).
    """
    if fmt.validate is not None:  # the renames give the full model's keys
        out = {fmt.rename(k): v.contiguous() for k, v in state.items()}
        return fmt.validate(out, path), out
    backbone, head = {}, {}
    for key, value in state.items():
        new = fmt.rename(key)
        for pattern, fn in fmt.transforms.items():
            if re.search(pattern, key):
                value = fn(value)
        (head if new.startswith("head.fc.") else backbone)[new] = value
    if arch is None:
        arch = match_arch(backbone, candidates or list(PRESETS), path)
    else:
        match_arch(backbone, [arch], path)
    out = {"backbone." + k: v.contiguous() for k, v in backbone.items()}
    out.update({k: v.contiguous() for k, v in head.items()})
    return arch, out


def save_atomic(obj: dict, dst: str) -> None:
    """``obj`` (``{'state_dict': ..., 'meta': ...}``) to ``dst`` through the engine's atomic writer: never a
    half-written file. A ``dst`` ending in ``.safetensors`` is written in that format (the state dict's tensors; the
    meta as its string metadata), any other name with ``torch.save``."""
    if str(dst).endswith(SAFETENSORS_SUFFIX):
        from safetensors.torch import save

        tensors = {k: v.detach().contiguous().clone() for k, v in obj["state_dict"].items()}
        meta = {k: str(v) for k, v in obj.get("meta", {}).items()}
        write_atomic(save(tensors, metadata=meta), dst)
        return
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_atomic(buffer.getvalue(), dst)
