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


def weights(path: Path, n: int = 4096) -> Path:
    """A clean checkpoint (one float tensor ``w`` of ``n`` values, a meta dict) to craft zip files from."""
    torch.save({"state_dict": {"w": torch.arange(n, dtype=torch.float32)}, "meta": {"epoch": 1}}, path)
    return path


def zip_entries(path: Path) -> list[dict]:
    """The entries of a zip checkpoint as ``dict(name=..., data=...)``, in the order they are stored."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        return [dict(name=info.filename, data=z.read(info)) for info in z.infolist()]


def write_zip(path: Path, entries: list[dict]) -> Path:
    """Write a zip by hand, byte for byte, so that its headers can lie. Each entry: ``name``, ``data``, and optionally
    ``deflated`` (the stored bytes, a deflate stream of ``data``), ``crc`` (the CRC to declare), ``size`` (the
    uncompressed size to declare; also the stored size unless deflated),
    ``local_extra`` (bytes of the local header's extra field), ``first`` (list it first in the central directory)."""
    import struct
    import zlib

    out, central = bytearray(), []
    for e in entries:
        name, data = e["name"].encode(), e["data"]
        raw = e.get("deflated", data)
        method, crc = (8 if "deflated" in e else 0), e.get("crc", zlib.crc32(data))
        size = e.get("size", len(data))
        stored = len(raw) if "deflated" in e else size
        extra, offset = e.get("local_extra", b""), len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, stored, size, len(name), len(extra))
        out += name + extra + raw
        central.append((e.get("first", False), name, method, crc, stored, size, offset))
    start = len(out)
    for _, name, method, crc, stored, size, offset in sorted(central, key=lambda c: not c[0]):
        out += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc, stored, size, len(name),
                           0, 0, 0, 0, 0, offset) + name
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(out) - start, start, 0)
    path.write_bytes(bytes(out))
    return path


def crc_bypass(good: Path, path: Path) -> Path:
    """``good`` with a flipped bit in its first weight (CRC kept) and one more stored entry, listed first in the
    central directory, whose 4 KB local extra field makes Python's zipfile read past the end of the file while torch's
    reader accepts it: a loader that falls back when zipfile fails checks nothing and loads the flipped weight."""
    import zlib

    entries = zip_entries(good)
    weight = next(e for e in entries if e["name"].endswith("/data/0"))
    weight["crc"] = zlib.crc32(weight["data"])
    weight["data"] = bytes([weight["data"][0], weight["data"][1], weight["data"][2], weight["data"][3] ^ 0x40]) + \
        weight["data"][4:]
    prefix = entries[0]["name"].split("/")[0]
    entries.append(dict(name=f"{prefix}/zz", data=b"x" * 100, size=1100, local_extra=bytes(4096), first=True))
    return write_zip(path, entries)


def zip_bomb(good: Path, path: Path, mib: int) -> Path:
    """``good`` with a deflated ``<archive>/bomb.pkl`` of ``mib`` MiB of zeros appended (torch never reads it),
    compressed 1 MiB at a time."""
    import zlib

    pack, zeros, crc, stream = zlib.compressobj(9, zlib.DEFLATED, -15), bytes(1 << 20), 0, bytearray()
    for _ in range(mib):
        stream += pack.compress(zeros)
        crc = zlib.crc32(zeros, crc)
    stream += pack.flush()
    entries = zip_entries(good)
    prefix = entries[0]["name"].split("/")[0]
    entries.append(dict(name=f"{prefix}/bomb.pkl", data=b"", deflated=bytes(stream), crc=crc, size=mib << 20))
    return write_zip(path, entries)
