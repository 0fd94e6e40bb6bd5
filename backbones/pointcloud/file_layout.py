"""Point and mesh files checked against their headers and sizes before open3d reads them (every failure a
:class:`PointFileError` naming the file; :mod:`backbones.pointcloud.io` re-exports it).

Files with counts in their header (``.ply``: ``element vertex N``; ``.off``: the counts line) are checked
against the file's size before anything is allocated (a 126-byte header claiming 30 million vertices fails at
once, naming the claimed count), then walked (binary PLY by the sizes of its properties, ascii PLY and OFF
by their tokens and lines): a file cut short, or holding more data than its header declares, is refused, as
is an ``.obj`` with a line cut short (a vertex without 3 coordinates, a face without 3 vertices or naming a
vertex the file lacks); the points open3d reads must then number what the header declares.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np


class PointFileError(ValueError):
    """A point or mesh file that cannot be used (wrong columns, non-finite values, empty...)."""

#: bytes of each PLY property type
PLY_TYPES = {"char": 1, "int8": 1, "uchar": 1, "uint8": 1, "short": 2, "int16": 2, "ushort": 2, "uint16": 2,
             "int": 4, "int32": 4, "uint": 4, "uint32": 4, "float": 4, "float32": 4, "double": 8, "float64": 8}
_PLY_COUNT_TYPES = ("char", "int8", "uchar", "uint8", "short", "int16", "ushort", "uint16", "int", "int32", "uint",
                    "uint32")
_PLY_COUNT_DTYPES = {1: "u1", 2: "u2", 4: "u4"}
_MAX_HEADER = 1 << 16


def check_layout(path: str | Path) -> dict[str, int] | None:
    """Check a ``.ply``, ``.off`` or ``.obj`` file's data against its header and size, before it is read.

    Args:
        path: the file.

    Returns:
        The element counts the header declares (``{'vertex': N, 'face': F, ...}``; an ``.obj``'s vertex and face
        lines), or None for other formats (not checked).

    Raises:
        PointFileError: naming the file: a header that does not parse, counts the file's size cannot hold
            (checked before anything is read beyond the header), a file cut short or longer than declared.
    """
    ext = Path(path).suffix.lower()
    if ext not in (".ply", ".off", ".obj"):
        return None
    size = Path(path).stat().st_size
    with open(path, "rb") as f:
        head = f.read(_MAX_HEADER)
    if ext == ".ply":
        return _check_ply(path, head, size)
    if ext == ".off":
        return _check_off(path, head, size)
    return _check_obj(path)


def _ply_header(path: str | Path, head: bytes) -> tuple[str, list[tuple[str, int, list]], int]:
    """(format, [(element, count, [(property type | (count type, item type), name)])], header bytes)."""
    end = re.search(rb"end_header[ \t]*\r?\n", head)
    if not head.startswith(b"ply") or end is None:
        raise PointFileError(f"{path}: not a PLY file (no 'ply' ... 'end_header' header in its first "
                             f"{_MAX_HEADER} bytes)")
    fmt, elements = None, []
    for line in head[:end.start()].decode("ascii", "replace").splitlines()[1:]:
        words = line.split()
        try:
            if not words or words[0] in ("comment", "obj_info"):
                continue
            if words[0] == "format":
                fmt = words[1]
            elif words[0] == "element":
                elements.append((words[1], int(words[2]), []))
                if elements[-1][1] < 0:
                    raise ValueError
            elif words[0] == "property" and words[1] == "list":
                if words[2] not in _PLY_COUNT_TYPES:
                    raise ValueError
                elements[-1][2].append(((PLY_TYPES[words[2]], PLY_TYPES[words[3]]), words[4]))
            elif words[0] == "property":
                elements[-1][2].append((PLY_TYPES[words[1]], words[2]))
            else:
                raise ValueError
        except (IndexError, KeyError, ValueError):
            raise PointFileError(f"{path}: PLY header line {line.strip()!r} does not parse") from None
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise PointFileError(f"{path}: PLY format {fmt!r}, expected ascii, binary_little_endian or "
                             f"binary_big_endian")
    return fmt, elements, end.end()


def _check_ply(path: str | Path, head: bytes, size: int) -> dict[str, int]:
    fmt, elements, start = _ply_header(path, head)
    counts = {name: n for name, n, _ in elements}
    claims = ", ".join(f"{n} {name}" if n == 1 else f"{n} {'vertices' if name == 'vertex' else name + 's'}"
                       for name, n, _ in elements)
    body = size - start
    # the fewest bytes the declared elements take (a list with no items; ascii: one digit and a separator each)
    least = sum(n * sum(t[0] if isinstance(t, tuple) else t for t, _ in props) for _, n, props in elements)
    if fmt == "ascii":
        least = sum(2 * n * len(props) for _, n, props in elements) - 1
    if least > body:
        raise PointFileError(f"{path}: the header claims {claims}, which need at least {least} bytes of {fmt} data; "
                             f"the file holds {body} after its {start}-byte header (truncated, or a wrong header)")
    with open(path, "rb") as f:
        data = f.read()[start:]
    if fmt == "ascii":
        extra = _walk_ascii_ply(path, data.split(b"\n"), elements)
    else:
        extra = len(data) - _walk_binary_ply(path, data, elements, "<" if fmt == "binary_little_endian" else ">")
    if extra:
        raise PointFileError(f"{path}: {extra} {'lines' if fmt == 'ascii' else 'bytes'} after the {claims} the "
                             f"header declares (a wrong header, or data appended)")
    return counts


def _walk_binary_ply(path: str | Path, data: bytes, elements: list, order: str) -> int:
    """The bytes the elements take in ``data``, following each list's item count."""
    pos = 0
    for name, n, props in elements:
        if all(isinstance(t, int) for t, _ in props):
            pos += n * sum(t for t, _ in props)
        else:  # rows with lists: uniform rows (one count, as triangles) checked at once, else row by row
            pos = _walk_rows(data, pos, n, props, order)
        if pos > len(data):
            raise PointFileError(f"{path}: cut short in its {name} data: the header declares {n} {name} rows, "
                                 f"which need more than the {len(data)} bytes after the header (truncated)")
    return pos


def _walk_rows(data: bytes, pos: int, n: int, props: list, order: str) -> int:
    if n == 0:
        return pos
    first = _row_size(data, pos, props, order)
    if first is not None and pos + n * first <= len(data):
        if _same_counts(np.frombuffer(data, np.uint8, n * first, pos).reshape(n, first), props, order):
            return pos + n * first
    for _ in range(n):
        step = _row_size(data, pos, props, order)
        if step is None:
            return len(data) + 1
        pos += step
    return pos


def _row_size(data: bytes, pos: int, props: list, order: str) -> int | None:
    """The bytes of the row at ``pos`` (None: cut short)."""
    start = pos
    for t, _ in props:
        if isinstance(t, int):
            pos += t
            continue
        if pos + t[0] > len(data):
            return None
        count = int(np.frombuffer(data, order + _PLY_COUNT_DTYPES[t[0]], 1, pos)[0])
        pos += t[0] + count * t[1]
    return None if pos > len(data) else pos - start


def _same_counts(rows: np.ndarray, props: list, order: str) -> bool:
    """Whether every row's list counts equal the first row's (so every row has the first row's size)."""
    col = 0
    for t, _ in props:
        if isinstance(t, int):
            col += t
            continue
        counts = rows[:, col:col + t[0]].copy().view(order + _PLY_COUNT_DTYPES[t[0]])
        if not (counts == counts[0]).all():
            return False
        col += t[0] + int(counts[0, 0]) * t[1]
    return True


def _walk_ascii_ply(path: str | Path, lines: list[bytes], elements: list) -> int:
    """Check one row per line, as many values as the properties (and list counts) need, the last one ending with
    a line break (else it may be cut mid-number); returns the number of non-empty lines after the declared rows."""
    i = 0
    for name, n, props in elements:
        for row in range(n):
            while i < len(lines) and not lines[i].strip():
                i += 1
            if i == len(lines):
                raise PointFileError(f"{path}: cut short: {row} of the {n} {name} rows the header declares "
                                     f"(truncated)")
            words, want = lines[i].split(), 0
            for t, _ in props:
                count = words[want] if not isinstance(t, int) and want < len(words) else b"0"
                want += 1 + (int(count) if count.isdigit() else 0)
            if len(words) != want:
                raise PointFileError(f"{path}: {name} row {row + 1} ({lines[i].decode(errors='replace')!r}) has "
                                     f"{len(words)} values, expected {want} (truncated or malformed)")
            i += 1
    if i == len(lines) and i:  # data.split(b"\n") ends with b"" when the last row ends with a line break
        raise PointFileError(f"{path}: its last row ({lines[-1].decode(errors='replace')!r}) does not end with a line "
                             f"break (truncated)")
    return sum(1 for line in lines[i:] if line.strip())


def _data_lines(path: str | Path) -> list[list[str]]:
    """The words of each line, comments (``#``) and empty lines left out."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    return [w for w in (line.split("#", 1)[0].split() for line in text.splitlines()) if w]


def _check_off(path: str | Path, head: bytes, size: int) -> dict[str, int]:
    # 'OFF' then 'nv nf ne', or 'OFF490 518 0' (ModelNet's glued form); COFF, NOFF, ... alike
    words = [w for line in head.decode("ascii", "replace").splitlines()[:50] for w in line.split("#", 1)[0].split()]
    if not words or "OFF" not in words[0]:
        raise PointFileError(f"{path}: not an OFF file (no 'OFF' header)")
    glued = words[0].split("OFF", 1)[1]
    counts = ([glued] if glued else []) + words[1:4]
    try:
        nv, nf = int(counts[0]), int(counts[1])
        if nv < 0 or nf < 0:
            raise ValueError
    except (IndexError, ValueError):
        raise PointFileError(f"{path}: OFF counts {' '.join(counts[:3])!r} do not parse (expected "
                             f"'vertices faces edges')") from None
    if 6 * nv + 2 * nf > size:  # 'x y z' lines of one-digit numbers at least, and '0' face lines
        raise PointFileError(f"{path}: the header claims {nv} vertices and {nf} face(s), which need at least "
                             f"{6 * nv + 2 * nf} bytes; the file holds {size} (truncated, or a wrong header)")
    lines = _data_lines(path)
    body = lines[1:] if glued or len(lines[0]) > 1 else lines[2:]
    if len(body) != nv + nf:
        raise PointFileError(f"{path}: {len(body)} vertex and face lines, the header declares {nv} vertices and "
                             f"{nf} faces (truncated, or a wrong header)")
    for k, words in enumerate(body):
        if k < nv and len(words) < 3:
            raise PointFileError(f"{path}: vertex {k + 1} has {len(words)} coordinates, expected 3 (truncated)")
        if k >= nv and (not words[0].isdigit() or len(words) < 1 + int(words[0])
                        or any(not w.isdigit() or int(w) >= nv for w in words[1:1 + int(words[0])])):
            raise PointFileError(f"{path}: face {k - nv + 1} ({' '.join(words)!r}) is cut short or names a "
                                 f"vertex beyond the {nv} vertices")
    return {"vertex": nv, "face": nf}


def _check_obj(path: str | Path) -> dict[str, int]:
    lines = _data_lines(path)
    nv = sum(1 for w in lines if w[0] == "v")
    nf = 0
    for words in lines:
        if words[0] == "v" and len(words) < 4:
            raise PointFileError(f"{path}: vertex line {' '.join(words)!r} has {len(words) - 1} coordinates, "
                                 f"expected 3 (truncated)")
        if words[0] == "f":
            nf += 1
            refs = [w.split("/", 1)[0] for w in words[1:]]
            bad = [r for r in refs if not re.fullmatch(r"-?\d+", r) or not 1 <= abs(int(r)) <= nv]
            if len(refs) < 3 or bad:
                raise PointFileError(f"{path}: face line {' '.join(words)!r} is cut short or names a vertex "
                                     f"beyond the {nv} vertices")
    return {"vertex": nv, "face": nf}
