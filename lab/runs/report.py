"""Tables and plots of the studies and the task tables: spreads over seeds, markdown tables (also into README's
marked blocks), small PNG files written atomically, training curves."""
from __future__ import annotations

import io
import statistics
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from backbones.utils.files import write_atomic, write_text_atomic

#: largest PNG the studies write (the docs commit them)
MAX_PNG_BYTES = 200_000


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, minimum and maximum of ``values`` (and their count ``n``)."""
    if not values:
        raise ValueError("spread() of no values")
    return dict(median=statistics.median(values), min=min(values), max=max(values), n=len(values))


def fmt_spread(values: Sequence[float], digits: int = 2) -> str:
    """``median [min-max]`` over seeds, or the single value."""
    if not values:
        return "-"
    s = spread(values)
    if s["n"] == 1:
        return f"{s['median']:.{digits}f}"
    return f"{s['median']:.{digits}f} [{s['min']:.{digits}f}-{s['max']:.{digits}f}]"


def group(results: Iterable[dict], *keys: str) -> dict[tuple, list[dict]]:
    """Results grouped by the values of ``info[key]`` for ``keys``, in first-seen order."""
    out: dict[tuple, list[dict]] = {}
    for r in results:
        out.setdefault(tuple(r["info"].get(k) for k in keys), []).append(r)
    return out


def values(runs: Iterable[dict], get: Callable[[dict], Any]) -> list[float]:
    """``get(run)`` for every run where it is not None."""
    return [v for v in map(get, runs) if v is not None]


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> str:
    """A markdown table; ``align`` is one letter per column (``l`` left, ``r`` right; default: right for the
    columns whose every cell starts with a digit, left for the others)."""
    rows = [[str(c) for c in row] for row in rows]
    if not align:
        def numeric(i: int) -> bool:
            return bool(rows) and all(r[i].lstrip("-")[:1].isdigit() or r[i] == "-" for r in rows)
        align = "".join("r" if numeric(i) else "l" for i in range(len(header)))
    if len(align) != len(header):
        raise ValueError(f"markdown_table: {len(align)} alignments for {len(header)} columns")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def figure(ncols: int = 1, width: float = 5.0, height: float = 3.6) -> tuple[Any, list[Any]]:
    """A matplotlib figure (Agg backend) with ``ncols`` axes side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)
    return fig, list(axes[0])


def save_png(fig: Any, path: str | Path, dpi: int = 100) -> Path:
    """Write ``fig`` as a PNG atomically, at a lower resolution if needed to stay under :data:`MAX_PNG_BYTES`."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    for d in (dpi, 80, 60):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=d)
        if buf.tell() <= MAX_PNG_BYTES:
            break
    plt.close(fig)
    write_atomic(buf.getvalue(), path)
    return Path(path)


def write_table(out: Path, title: str, header_lines: Sequence[str], sections: Sequence[str]) -> Path:
    """``out/table.md``: a title, the header lines (mode, command, machine) and the sections."""
    text = "\n\n".join([f"# {title}", "\n".join(header_lines), *sections]) + "\n"
    write_text_atomic(text, out / "table.md")
    return out / "table.md"


def replace_between_markers(path: str | Path, start: str, end: str, text: str) -> None:
    """Replace what stands between the lines ``start`` and ``end`` of the text file ``path`` with ``text``.

    Used by the task tables to write their results into README.md; the file is rewritten atomically.
    Raises SystemExit naming the file when a marker is missing.
    """
    doc = Path(path).read_text()
    if start not in doc or end not in doc:
        raise SystemExit(f"error: {path} has no {start} ... {end} block")
    head, rest = doc.split(start, 1)
    write_atomic((head + start + "\n" + text + "\n" + end + rest.split(end, 1)[1]).encode(), path)


def plot_curves(work_dir: str | Path, out: str | Path | None = None, metric: str = "accuracy/top1",
                title: str | None = None) -> Path:
    """The training loss (per logged iteration) and ``metric`` (per validation) of the newest mmengine run in
    ``work_dir`` (its ``*/vis_data/scalars.json``) as a PNG (default ``work_dir/curves.png``); returns the path."""
    import json

    runs = sorted(Path(work_dir).glob("*/vis_data/scalars.json"))
    if not runs:
        raise FileNotFoundError(f"{work_dir}: no */vis_data/scalars.json (was it trained with LocalVisBackend?)")
    records = [json.loads(line) for line in runs[-1].read_text().splitlines() if line.strip()]
    train, val = [r for r in records if "loss" in r], [r for r in records if metric in r]
    fig, (ax1,) = figure(width=7, height=4)
    ax1.plot([r["step"] for r in train], [r["loss"] for r in train], color="tab:blue", label="train loss")
    ax1.set_xlabel("iteration")
    ax1.set_ylabel("loss", color="tab:blue")
    if val:  # validation records count epochs in 'step': put them on the iteration axis
        ax2 = ax1.twinx()
        per_epoch = max(r["step"] for r in train) / max(r.get("epoch", 1) for r in train) if train else 1
        ax2.plot([r["step"] * per_epoch for r in val], [r[metric] for r in val], "o-", color="tab:red", label=metric)
        ax2.set_ylabel(metric, color="tab:red")
    ax1.set_title(title or Path(work_dir).name)
    return save_png(fig, Path(out) if out else Path(work_dir) / "curves.png")
