"""Checkpoint converters: official layouts -> this zoo's mmpretrain ``ImageClassifier`` layout."""
from __future__ import annotations

from backbones.converters.base import ConversionError, Format, convert_state, load_source, save_atomic
from backbones.converters.formats import FAMILIES, FORMATS

__all__ = ["ConversionError", "Format", "FORMATS", "FAMILIES", "convert_checkpoint", "convert_state",
           "load_source", "save_atomic"]


def convert_checkpoint(fmt: str, src: str, dst: str | None = None, arch: str | None = None,
                       unsafe_full_unpickle: bool = False) -> tuple[str, dict]:
    """Convert the checkpoint file ``src`` of format ``fmt``; write it to ``dst`` (atomically) if given.

    ``src`` is read safely (weights only, see :func:`load_source`) unless ``unsafe_full_unpickle``.

    Returns:
        (preset name, converted state dict with ``backbone.`` and ``head.fc.`` keys).
    """
    if fmt not in FORMATS:
        raise ConversionError(f"unknown checkpoint format {fmt!r}; formats: {sorted(FORMATS)}")
    state, source = load_source(src, unsafe_full_unpickle)
    arch, out = convert_state(FORMATS[fmt], state, src, arch, FAMILIES[fmt])
    if dst is not None:
        meta = dict(arch=arch, source_format=fmt, source=src, source_container=source)
        save_atomic({"state_dict": out, "meta": meta}, dst)
    return arch, out

