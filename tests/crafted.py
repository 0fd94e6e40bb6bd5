"""Crafted checkpoints for the safe-loading tests: each holds a payload that, unpickled fully, writes a marker file
or rebuilds an object into something it is not. :data:`REFUSED` gives, per payload, what the refusal must name."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

#: payload -> the global (or attribute) the refusal names
REFUSED = {
    "getattr": "builtins.getattr",            # getattr chain to builtins.exec through torch's allowed rebuild
    "system": "posix.system",                 # a __reduce__ to os.system in meta
    "hub": "posix.system",                    # nested in the message hub's scalars
    "optimizer": "posix.system",              # nested in the optimizer state
    "eval": "builtins.eval",                  # a __reduce__ to eval
    "history_attr": "special attribute __init__",   # HistoryBuffer attributes beyond the four statistics
    "object_array": "numpy.dtype('O8'",       # a numpy array of pickled Python objects
    "object_dtype": "numpy.dtypes.ObjectDType",  # the object dtype class named directly
    "class_assign": "special attribute __class__",  # a parameter rebuilt with its __class__ replaced
    "history_method": "builtins.getattr(HistoryBuffer, 'update')",  # not one of the four statistics methods
}
#: payloads that run code when loaded with a full unpickler (the others are refused types, not code)
RUNS_CODE = ("getattr", "system", "hub", "optimizer", "eval")


class _Reduce:
    def __init__(self, fn: object, *args: object) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self) -> tuple:
        return self.fn, self.args


def _exec_through_rebuild(code: str) -> _Reduce:
    """``_rebuild_from_type_v2(getattr(getattr(getattr, '__self__'), 'exec'), Tensor, (code,), {})``."""
    exec_ = _Reduce(getattr, _Reduce(getattr, getattr, "__self__"), "exec")
    return _Reduce(torch._tensor._rebuild_from_type_v2, exec_, torch.Tensor, (code,), {})


def payload(kind: str, marker: Path) -> object:
    """The object of payload ``kind`` (writes ``marker`` if it runs)."""
    from mmengine.logging import HistoryBuffer

    write = f"open({str(marker)!r}, 'w').write('ran')"
    return {
        "getattr": lambda: _exec_through_rebuild(write),
        "system": lambda: _Reduce(os.system, f"touch {marker}"),
        "hub": lambda: _Reduce(os.system, f"touch {marker}"),
        "optimizer": lambda: _Reduce(os.system, f"touch {marker}"),
        "eval": lambda: _Reduce(eval, write),
        "history_attr": lambda: _Reduce(getattr, HistoryBuffer, "__init__"),
        "history_method": lambda: _Reduce(getattr, HistoryBuffer, "update"),
        "object_array": lambda: np.array(["text", 3], dtype=object),
        "object_dtype": lambda: _Reduce(np.dtypes.ObjectDType),
        "class_assign": lambda: _Reduce(torch._utils._rebuild_parameter_with_state, torch.zeros(2), True, {},
                                        {"__class__": HistoryBuffer}),
    }[kind]()


def craft(path: Path, kind: str, marker: Path, state: dict | None = None) -> Path:
    """A checkpoint (``state`` as its weights) with payload ``kind`` in ``meta``, the message hub or the optimizer
    state, as the payload's name says."""
    ckpt = {"state_dict": state or {"w": torch.ones(2)}, "meta": {"epoch": 1}}
    bad = payload(kind, marker)
    if kind == "hub":
        ckpt["message_hub"] = {"log_scalars": {"train/loss": bad}, "runtime_info": {}}
    elif kind == "optimizer":
        ckpt["optimizer"] = {"state": {0: {"exp_avg": bad}}, "param_groups": []}
    elif kind == "class_assign":
        ckpt["state_dict"] = {**ckpt["state_dict"], "w2": bad}
    else:
        ckpt["meta"]["note"] = bad
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)
    return path
