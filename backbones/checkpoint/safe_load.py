"""Load checkpoints without running code from them: torch's weights-only unpickler, scoped to each load.

torch >= 2.6 loads with ``weights_only=True`` by default, which refuses mmengine's checkpoints: they
hold message-hub history (:class:`mmengine.logging.HistoryBuffer`) and numpy values. :func:`safe_load`
allows exactly those types, for the duration of one load (``torch.serialization.safe_globals``), and
nothing callable that reaches arbitrary attributes. A ``HistoryBuffer`` pickles its statistics methods
(a dict of ``HistoryBuffer.min``, ...) as ``getattr(HistoryBuffer, 'min')``; the real ``builtins.getattr``
would let a crafted file reach ``builtins.exec`` (``getattr(getattr, '__self__')``) and call it through
torch's allowed rebuild functions. :func:`history_buffer_getattr` stands in for it under the same global
name and returns only ``min``, ``max``, ``mean`` and ``current`` of the ``HistoryBuffer`` class.

Nothing here changes torch or mmengine at import. :func:`use_safe_loader` makes mmengine's local
checkpoint loader (``CheckpointLoader``, used by ``load_from``, ``--resume``, ``init_cfg=Pretrained``
and ``load_checkpoint``) call :func:`safe_load`; importing :mod:`backbones.safe_loading` (the shipped configs'
``custom_imports``, the tools) does so.
"""
from __future__ import annotations

import os
import pickle
import re
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import torch

#: the methods a pickled ``HistoryBuffer`` refers to (its ``_statistics_methods``).
HISTORY_BUFFER_METHODS = frozenset({"min", "max", "mean", "current"})


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs a global (a class or function: code) the safe loader refuses; names the file."""


class CheckpointReadError(RuntimeError):
    """A checkpoint file cannot be read (empty, truncated, not a torch file); the message names the file."""


def history_buffer_getattr(obj: Any, name: str) -> Any:
    """Registered as ``builtins.getattr`` for safe loads: ``getattr(HistoryBuffer, name)`` for the statistics
    methods, an :class:`pickle.UnpicklingError` naming ``obj``'s type and ``name`` for anything else."""
    from mmengine.logging import HistoryBuffer

    if obj is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    what = obj.__qualname__ if isinstance(obj, type) else f"<{type(obj).__module__}.{type(obj).__qualname__}>"
    raise pickle.UnpicklingError(
        f"refused global builtins.getattr({what}, {name!r}): only HistoryBuffer."
        f"{{{', '.join(sorted(HISTORY_BUFFER_METHODS))}}} are allowed")


def checkpoint_globals() -> list:
    """The globals an mmengine checkpoint needs beyond torch's defaults (types, numpy rebuilders, the
    restricted ``getattr``)."""
    import numpy as np
    from mmengine.logging import HistoryBuffer

    core = getattr(np, "_core", None) or np.core
    dtypes = [getattr(np.dtypes, name) for name in dir(np.dtypes) if name.endswith("DType")]
    return [HistoryBuffer, np.ndarray, np.dtype, core.multiarray._reconstruct, core.multiarray.scalar, *dtypes,
            (history_buffer_getattr, "builtins.getattr")]


_REFUSED = [re.compile(p) for p in (
    r"refused global (\S+\(.*?\))",                                  # history_buffer_getattr
    r"GLOBAL (\S+) was not an allowed global",                       # an unknown global
    r"unsupported GLOBAL (\S+) whose module",                        # a blocked module
    r"reduce for unrecognized function (.+?)(?: which belongs|$)",   # a callable not allowed
    r"allowlisted via `add_safe_globals`,? but got (.+)$",           # NEWOBJ / BUILD of another class
)]


def refused_global(message: str) -> str | None:
    """The global a weights-only load refused, from torch's (or our) error message; None if the message
    reports something else (a corrupt pickle stream)."""
    for pattern in _REFUSED:
        for line in message.splitlines():
            m = pattern.search(line)
            if m:
                return m.group(1).strip()
    return None


def _unpickler_error(message: str) -> str:
    """The unpickler's own words inside torch's wrapped message."""
    core = message.split("WeightsUnpickler error:", 1)[-1].split("Check the documentation of torch.load", 1)[0]
    return " ".join(core.split()) or "unknown error"


def _name(f: str | os.PathLike | IO[bytes]) -> str:
    return str(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "<file object>")


def safe_load(f: str | os.PathLike | IO[bytes], map_location: Any = "cpu", extra_globals: Iterable = ()) -> Any:
    """``torch.load(f, weights_only=True)`` with :func:`checkpoint_globals` (and ``extra_globals``) allowed
    for this load only.

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: the file needs a global that is not allowed (named, with the file).
        CheckpointReadError: empty, truncated or not a torch checkpoint (the file named).
    """
    name = _name(f)
    if isinstance(f, (str, os.PathLike)):
        path = Path(f).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint {name} does not exist")
        if path.stat().st_size == 0:
            raise CheckpointReadError(f"checkpoint {name} is empty (0 bytes)")
        f = path
    try:
        with torch.serialization.safe_globals([*checkpoint_globals(), *extra_globals]):
            return torch.load(f, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        refused = refused_global(str(e))
        if refused is None:
            raise CheckpointReadError(f"checkpoint {name} cannot be read (corrupt pickle data: "
                                      f"{_unpickler_error(str(e))})") from None
        raise UnsafeCheckpointError(
            f"checkpoint {name} refused: it needs {refused}, which the safe loader does not allow "
            f"(loading it could run code from the file)") from None
    except (EOFError, RuntimeError, ValueError, OSError) as e:
        raise CheckpointReadError(f"checkpoint {name} cannot be read (truncated or not a PyTorch checkpoint): "
                                  f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
                                  ) from e


def load_from_local_safe(filename: str, map_location: Any = None) -> Any:
    """mmengine ``CheckpointLoader`` scheme for local paths: :func:`safe_load`."""
    return safe_load(filename, map_location)


def use_safe_loader() -> None:
    """Make mmengine load local checkpoints with :func:`safe_load` (its ``CheckpointLoader`` scheme ``''``).

    Idempotent; called when :mod:`backbones.safe_loading` is imported.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    CheckpointLoader.register_scheme(prefixes="", loader=load_from_local_safe, force=True)


def safe_loader_active() -> bool:
    """Whether mmengine's local checkpoint loader is :func:`load_from_local_safe`."""
    from mmengine.runner.checkpoint import CheckpointLoader

    return CheckpointLoader._get_checkpoint_loader("/x.pth") is load_from_local_safe
