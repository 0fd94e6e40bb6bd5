"""Make mmengine checkpoints load under torch >= 2.6, whose ``torch.load`` defaults to ``weights_only=True``.

mmengine 0.10.7 saves message-hub history (``HistoryBuffer``) and numpy values in its checkpoints;
resuming then fails with ``UnpicklingError``. The types below are allow-listed for the safe loader,
which keeps ``weights_only`` loading (no arbitrary code) and makes resume bit-exact.
"""
from __future__ import annotations

import builtins

import numpy as np
import torch


def allow_mmengine_checkpoints() -> None:
    """Register mmengine's and numpy's checkpoint types with :func:`torch.serialization.add_safe_globals`."""
    from mmengine.logging import HistoryBuffer

    types: list = [HistoryBuffer, np.ndarray, np.dtype, builtins.getattr]
    core = getattr(np, "_core", None) or np.core
    types += [core.multiarray._reconstruct, core.multiarray.scalar]
    types += [getattr(np.dtypes, name) for name in dir(np.dtypes) if name.endswith("DType")]
    torch.serialization.add_safe_globals(types)


allow_mmengine_checkpoints()
