"""Load checkpoints without running code from them: torch's weights-only unpickler, scoped to each load.

torch >= 2.6 loads with ``weights_only=True`` by default, which refuses mmengine's checkpoints: they
hold message-hub history (:class:`mmengine.logging.HistoryBuffer`) and numpy values. :func:`safe_load`
allows exactly those types, for the duration of one load (``torch.serialization.safe_globals``), and
nothing callable that reaches arbitrary attributes. A ``HistoryBuffer`` pickles its statistics methods
(a dict of ``HistoryBuffer.min``, ...) as ``getattr(HistoryBuffer, 'min')``; the real ``builtins.getattr``
would let a crafted file reach ``builtins.exec`` (``getattr(getattr, '__self__')``) and call it through
torch's allowed rebuild functions. :func:`history_buffer_getattr` stands in for it under the same global
name and returns only ``min``, ``max``, ``mean`` and ``current`` of the ``HistoryBuffer`` class;
:func:`numpy_dtype` stands in for ``numpy.dtype`` and refuses object dtypes (their items are pickled Python
objects). Before unpickling, the file is checked as torch will read it (:func:`zip_records`): torch's own zip reader
and Python's must agree on every record torch reads, no record may be compressed, and every record's CRC must match
(a flipped bit in a weight fails it); any disagreement or parse error is a refusal, never a fallback that checks
less. The pickle torch unpickles - a zip's ``data.pkl``, a legacy file's head pickles - is scanned
(:class:`PickleScan`) for strings naming special attributes (``__class__``, ``__self__``, ...), which no checkpoint
data needs. Entries torch never reads are never read. Every refusal names the file and the global.

Nothing here changes torch or mmengine at import; :mod:`backbones.engine.checkpoint.loaders` routes mmengine's
checkpoint schemes here when :mod:`backbones` is imported.
"""
from __future__ import annotations

import os
import pickle
import re
import zipfile
import zlib
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


def numpy_dtype(*args: Any) -> Any:
    """Registered as ``numpy.dtype`` for safe loads: ``numpy.dtype(*args)`` unless the dtype holds Python objects
    (``'O'``, or a structured dtype with an object field), which an :class:`pickle.UnpicklingError` refuses: the
    items of an object array are pickled Python objects, not tensor data."""
    import numpy as np

    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise pickle.UnpicklingError(f"refused global numpy.dtype({', '.join(map(repr, args))}): object arrays hold "
                                     f"pickled Python objects")
    return dtype


def checkpoint_globals() -> list:
    """The globals an mmengine checkpoint needs beyond torch's defaults: its types, the numpy rebuilders, numpy's
    data dtypes (not the object and void dtypes) and the restricted stand-ins for ``getattr`` and ``numpy.dtype``."""
    import numpy as np
    from mmengine.logging import HistoryBuffer

    core = getattr(np, "_core", None) or np.core
    dtypes = [getattr(np.dtypes, name) for name in dir(np.dtypes)
              if name.endswith("DType") and name not in ("ObjectDType", "VoidDType")]
    return [HistoryBuffer, np.ndarray, core.multiarray._reconstruct, core.multiarray.scalar, *dtypes,
            (numpy_dtype, "numpy.dtype"), (history_buffer_getattr, "builtins.getattr")]


#: a string of the pickle stream that names a special attribute (``__class__``, ``__dict__``, ``__reduce__``, ...).
_DUNDER = re.compile(r"__\w+__")


class PickleScan:
    """What a pickle stream references, read without running it: the globals in order (``builtins`` spelled as
    such, not protocol 2's ``__builtin__``) and the first string naming a special attribute (``__class__``,
    ``__self__``, ...) with the globals around it. No checkpoint's data needs a special attribute; as an argument
    of ``getattr`` or as an object's state it reaches code or changes what the object is."""

    def __init__(self, data: bytes) -> None:
        import pickletools

        self.globals: list[str] = []
        self.special: tuple[str, list[str]] | None = None
        strings: list[str] = []
        try:
            for op, arg, _ in pickletools.genops(data):
                if op.name == "GLOBAL":
                    self._global(str(arg).replace(" ", "."))
                elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                    self._global(f"{strings[-2]}.{strings[-1]}")
                elif isinstance(arg, str) and ("UNICODE" in op.name or "STRING" in op.name):
                    strings.append(arg)
                    if self.special is None and _DUNDER.fullmatch(arg):
                        self.special = (arg, self.globals[-2:])
        except (ValueError, EOFError, pickle.UnpicklingError):  # a stream that does not parse: the loader says so
            pass

    def _global(self, name: str) -> None:
        self.globals.append(re.sub(r"^__builtin__\.", "builtins.", name))

    def full_name(self, refused: str) -> str:
        """``refused`` as torch names it (a function's bare name, sometimes) -> the global's full name."""
        if "." in refused or "(" in refused:
            return refused
        return next((g for g in reversed(self.globals) if g.rsplit(".", 1)[-1] == refused), refused)


#: pickles at the head of a legacy (pre-zip) torch file: magic number, protocol, system info, data, storage keys.
LEGACY_PICKLES = 5
#: the first bytes of a zip file's local header: torch reads a file that starts with them as a zip archive.
ZIP_MAGIC = b"PK\x03\x04"
_LOCAL_HEADER = 30


def _local_data_offset(handle: IO[bytes], info: zipfile.ZipInfo) -> int:
    """Where an entry's bytes start, from its local header (as torch's reader and Python's both compute it)."""
    handle.seek(info.header_offset)
    head = handle.read(_LOCAL_HEADER)
    if len(head) != _LOCAL_HEADER or head[:4] != ZIP_MAGIC:
        return -1
    return info.header_offset + _LOCAL_HEADER + int.from_bytes(head[26:28], "little") + \
        int.from_bytes(head[28:30], "little")


def zip_records(f: Path | IO[bytes], name: str) -> dict[str, tuple[int, int]]:
    """The records torch reads from a zip checkpoint, checked: ``{record: (offset, size)}``.

    torch's own reader (``torch._C.PyTorchFileReader``, the one ``torch.load`` uses) says which records exist and
    where the bytes of each start; Python's ``zipfile`` reads the central directory for the sizes and CRCs. The
    load is refused unless both agree on every record (one stored entry at that offset, the same size, inside the
    file), no record is compressed (torch writes checkpoints uncompressed; a compressed record could inflate to any
    size) and every record's bytes match its CRC (torch's reader does not check CRCs: a flipped bit in a weight would
    load). A name listed twice is refused (which copy a reader takes is its own choice). Entries outside torch's
records are never read. Memory: 1 MiB at a time; reads the file once.

    Raises:
        CheckpointReadError: any parse error or disagreement, a compressed record, a CRC that fails (file and
            record named).
    """
    def refuse(why: str) -> CheckpointReadError:
        return CheckpointReadError(f"checkpoint {name} refused: {why} (the safe loader reads only zip checkpoints "
                                   f"that torch.save could have written)")

    handle = open(f, "rb") if isinstance(f, Path) else f
    try:
        handle.seek(0, os.SEEK_END)
        length = handle.tell()
        handle.seek(0)
        try:
            reader = torch._C.PyTorchFileReader(str(f) if isinstance(f, Path) else handle)
            records = {r: (reader.get_record_offset(r), reader.get_record_size(r)) for r in reader.get_all_records()}
        except Exception as e:  # torch.load would fail the same way
            raise CheckpointReadError(f"checkpoint {name} cannot be read: torch's zip reader fails on it (truncated or "
                                      f"damaged: {type(e).__name__}: {str(e).splitlines()[0]})") from None
        try:
            infos = zipfile.ZipFile(handle).infolist()
            at = {}
            for info in infos:
                at.setdefault(_local_data_offset(handle, info), []).append(info)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as e:
            raise refuse(f"its zip directory does not parse ({type(e).__name__}: {e})") from None
        names = [info.filename for info in infos]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:  # which copy a reader takes is its own choice: the readers could see different data
            raise refuse(f"the zip lists entries more than once: {twice[:5]}")
        for record, (offset, size) in records.items():
            found = at.get(offset, [])
            if len(found) != 1 or not found[0].filename.endswith("/" + record):
                raise refuse(f"torch reads record {record!r} at byte {offset}, where the zip directory lists "
                             f"{[i.filename for i in found] or 'no entry'}")
            info = found[0]
            if info.compress_type != zipfile.ZIP_STORED:
                raise refuse(f"entry {info.filename} is compressed (method {info.compress_type})")
            if not info.compress_size == info.file_size == size or offset + size > length:
                raise refuse(f"entry {info.filename} declares {info.file_size} bytes ({info.compress_size} stored), "
                             f"torch reads {size} from byte {offset} of {length}")
            handle.seek(offset)
            crc, left = 0, size
            while left:
                chunk = handle.read(min(left, 1 << 20))
                if not chunk:
                    raise refuse(f"entry {info.filename} is cut short")
                crc, left = zlib.crc32(chunk, crc), left - len(chunk)
            if crc != info.CRC:
                raise CheckpointReadError(f"checkpoint {name} is damaged: its entry {info.filename} fails the zip "
                                          f"check (its CRC does not match its bytes)")
        return records
    finally:
        if isinstance(f, Path):
            handle.close()


def is_zip(f: Path | IO[bytes]) -> bool:
    """Whether torch reads ``f`` as a zip archive (it starts with a zip local header)."""
    if isinstance(f, Path):
        with open(f, "rb") as handle:
            return handle.read(4) == ZIP_MAGIC
    start = f.tell()
    try:
        return f.read(4) == ZIP_MAGIC
    finally:
        f.seek(start)


def pickle_streams(f: Path | IO[bytes], name: str) -> list[tuple[str, bytes]]:
    """The pickle streams torch unpickles from a checkpoint, as ``(where, bytes)``, after the file is checked.

    A zip checkpoint (torch's format since 1.6): its ``data.pkl`` record, exactly the bytes torch's reader takes,
    after :func:`zip_records` checked every record. A legacy file: its first :data:`LEGACY_PICKLES` pickles, read
    one after another. Anything else: none (the loader then says what the file is).

    Raises:
        CheckpointReadError: the zip does not pass :func:`zip_records` (file and reason named).
    """
    start = f.tell() if not isinstance(f, Path) else 0
    try:
        if not is_zip(f):
            return _legacy_streams(f)
        records = zip_records(f, name)
        if "data.pkl" not in records:
            return []
        offset, size = records["data.pkl"]
        handle = open(f, "rb") if isinstance(f, Path) else f
        try:
            handle.seek(offset)
            return [("data.pkl", handle.read(size))]
        finally:
            if isinstance(f, Path):
                handle.close()
    finally:
        if not isinstance(f, Path):
            f.seek(start)


def _legacy_streams(f: Path | IO[bytes]) -> list[tuple[str, bytes]]:
    """The head pickles of a legacy torch file (empty for a file that is not one)."""
    import pickletools

    handle = open(f, "rb") if isinstance(f, Path) else f
    try:
        handle.seek(0)
        streams = []
        for n in range(LEGACY_PICKLES):
            begin = handle.tell()
            try:
                for _ in pickletools.genops(handle):
                    pass
            except (ValueError, EOFError, pickle.UnpicklingError, UnicodeDecodeError):
                break
            end = handle.tell()
            handle.seek(begin)
            streams.append((f"pickle {n + 1}", handle.read(end - begin)))
        return streams
    finally:
        if isinstance(f, Path):
            handle.close()


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


#: the file name ending of the safetensors format (tensors and string metadata, no pickle: nothing to run).
SAFETENSORS_SUFFIX = ".safetensors"


def is_safetensors(f: Path | IO[bytes], name: str) -> bool:
    """Whether ``f`` is read as a safetensors file: its name ends with ``.safetensors``."""
    return str(f if isinstance(f, Path) else name).endswith(SAFETENSORS_SUFFIX)


def read_safetensors(f: Path | IO[bytes], name: str) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file (the format holds no code; its header is bounded by the file's size).

    Raises:
        CheckpointReadError: the file is not a valid safetensors file (named).
    """
    from safetensors.torch import load, load_file

    try:
        return load_file(str(f)) if isinstance(f, Path) else load(f.read())
    except Exception as e:
        raise CheckpointReadError(f"checkpoint {name} is not a valid safetensors file: {type(e).__name__}: "
                                  f"{str(e).splitlines()[0] if str(e) else ''}") from None


def safe_load(f: str | os.PathLike | IO[bytes], map_location: Any = "cpu", extra_globals: Iterable = (),
              name: str | None = None) -> Any:
    """``torch.load(f, weights_only=True)`` with :func:`checkpoint_globals` (and ``extra_globals``) allowed
    for this load only, after the file is checked as torch will read it and the pickle torch unpickles is scanned for
    special attributes (:func:`pickle_streams`, :class:`PickleScan`). A ``.safetensors`` file: its tensors
    (:func:`read_safetensors`).

    Args:
        f: a path or a binary file object (e.g. the bytes of a remote checkpoint).
        map_location: as ``torch.load``.
        extra_globals: more types to allow for this load.
        name: how errors name the checkpoint (default: the path, or the file object's name).

    Raises:
        FileNotFoundError: no such file.
        IsADirectoryError: the path is a directory.
        UnsafeCheckpointError: the file needs a global that is not allowed, or sets a special attribute (the file,
            the global and the attribute named).
        CheckpointReadError: empty, truncated, damaged (a CRC fails) or not a torch checkpoint (the file named).
    """
    name = name or _name(f)
    if isinstance(f, (str, os.PathLike)):
        path = Path(f).expanduser()
        if path.is_dir():
            raise IsADirectoryError(f"checkpoint {name} is a directory; expected a checkpoint file (.pth)")
        if path.exists() and not path.is_file():
            raise CheckpointReadError(f"checkpoint {name} is not a regular file (a device, pipe or socket); expected "
                                      f"a checkpoint file (.pth)")
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint {name} does not exist (official checkpoints convert to the zoo's "
                                    f"layout with `backbones-convert FORMAT SRC DST`, i.e. "
                                    f"tools/convert_checkpoint.py; formats: docs/checkpoints.md)")
        if path.stat().st_size == 0:
            raise CheckpointReadError(f"checkpoint {name} is empty (0 bytes)")
        f = path
    if is_safetensors(f, name):
        return read_safetensors(f, name)
    scans = [(where, PickleScan(data)) for where, data in pickle_streams(f, name)]
    for where, scan in scans:
        if scan.special is not None:
            attribute, near = scan.special
            raise UnsafeCheckpointError(
                f"checkpoint {name} refused: {where} names the special attribute {attribute} (after the globals "
                f"{', '.join(near) or '-'}); no checkpoint data needs one (it could reach code or change an "
                f"object's type)")
    scan = next((s for where, s in scans if where.endswith("data.pkl")), scans[-1][1] if scans else PickleScan(b""))
    try:
        with torch.serialization.safe_globals([*checkpoint_globals(), *extra_globals]):
            return torch.load(f, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        refused = refused_global(str(e))
        if refused is None:
            raise CheckpointReadError(f"checkpoint {name} cannot be read (corrupt pickle data: "
                                      f"{_unpickler_error(str(e))})") from None
        raise UnsafeCheckpointError(
            f"checkpoint {name} refused: it needs {scan.full_name(refused)}, which the safe loader does not allow "
            f"(loading it could run code from the file)") from None
    except Exception as e:  # truncated, not a torch file, or data the allowed types cannot be rebuilt from
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise CheckpointReadError(f"checkpoint {name} cannot be read (truncated, not a PyTorch checkpoint, or data "
                                  f"the allowed types cannot be rebuilt from): {type(e).__name__}: {first}") from e
