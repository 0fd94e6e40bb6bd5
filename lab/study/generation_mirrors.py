"""The mirrored-digits experiment of the generation study (:mod:`lab.study.generation`): its table, the
comparisons that decide the claim test (self-attention against both controls, then External attention against
self-attention, by whether the seeds' ranges overlap), a plot of every seed and a sample grid."""
from __future__ import annotations

from pathlib import Path

from lab.runs.report import figure, fmt_spread, group, markdown_table, save_png, values

#: the metrics of the table: (key, column, decimals, higher is better)
COLUMNS = (("gen/fd", "FD (lower better)", 2, False), ("gen/sample_acc", "sample acc %", 2, True),
           ("gen/mirror_err", "mirror error % (lower better)", 2, False), ("gen/precision", "precision", 3, True),
           ("gen/recall", "recall", 3, True))
#: the comparisons: (block, against)
PAIRS = (("SelfAttention", "IdentityMixer"), ("SelfAttention", "none (SNGAN)"), ("ExternalAttention", "SelfAttention"))


def _metric(runs: list[dict], name: str) -> list[float]:
    return values(runs, lambda r: r["metrics"].get(name))


def compare(a: list[float], b: list[float], higher_better: bool) -> str:
    """``'better'`` / ``'worse'`` when the two seed ranges do not overlap (a against b), else ``'overlap'``; with
    fewer than 2 seeds on a side there are no ranges: ``'one seed, no verdict'``."""
    if not a or not b:
        return "-"
    if min(len(a), len(b)) < 2:
        return "one seed, no verdict"
    if min(max(a), max(b)) >= max(min(a), min(b)):
        return "overlap"
    return "better" if (min(a) > max(b)) == higher_better else "worse"


def mirror_sections(runs: list[dict], out: Path) -> tuple[list[str], list[Path]]:
    """The experiment's markdown sections, its plot (``mirrors.png``) and sample grid (``mirrors-samples.png``)."""
    from lab.study.sample_grids import sample_grids

    by_kind = group(runs, "kind")
    rows = [[kind, len(rs), *[fmt_spread(_metric(rs, key), digits) for key, _, digits, _ in COLUMNS],
             fmt_spread([r["seconds"]["train"] / 60 for r in rs], 1)] for (kind,), rs in by_kind.items()]
    real = values(runs, lambda r: r["metrics"].get("gen/mirror_err_real"))
    lines = []
    for a, b in PAIRS:
        ra, rb = by_kind.get((a,)), by_kind.get((b,))
        if not ra or not rb:
            continue
        verdicts = [f"{col.split(' (')[0]} {fmt_spread(_metric(ra, key))} vs {fmt_spread(_metric(rb, key))}: "
                    f"{compare(_metric(ra, key), _metric(rb, key), hib)}" for key, col, _, hib in COLUMNS[:3]]
        lines.append(f"- {a} against {b} ({len(ra)} and {len(rb)} seeds): " + "; ".join(verdicts))
    sections = ["## Mirrored digits: global structure (each image a digit and its mirror image)",
                markdown_table(["attention block", "seeds", *[c for _, c, _, _ in COLUMNS], "train min"], rows),
                f"Each cell: median [min-max] over the seeds. mirror error: mean |x - flip(x)|, % of the grey range "
                f"(real validation images: {fmt_spread(real)}).",
                "### Which block wins (better / worse: the seeds' ranges do not overlap)",
                "\n".join(lines) or "- not enough runs for a comparison"]
    grid = sample_grids(by_kind, out / "mirrors-samples.png")
    return sections, [plot(by_kind, out / "mirrors.png"), *([grid] if grid else [])]


def plot(by_kind: dict[tuple, list[dict]], path: Path) -> Path:
    """FD, sample accuracy and mirror error per block: every seed a dot, the median a bar."""
    fig, axes = figure(3, 3.6, 3.2)
    kinds = [k for (k,) in by_kind]
    for ax, (key, col, _, _) in zip(axes, COLUMNS[:3]):
        for i, kind in enumerate(kinds):
            pts = sorted(_metric(by_kind[(kind,)], key))
            ax.plot([i] * len(pts), pts, "o", ms=4, alpha=0.7, color=f"C{i}")
            if pts:
                ax.hlines(pts[len(pts) // 2], i - 0.25, i + 0.25, color=f"C{i}")
        ax.set_xticks(range(len(kinds)), [k.replace(" (SNGAN)", "\n(SNGAN)") for k in kinds], rotation=30,
                      fontsize=7, ha="right")
        ax.set_ylabel(col, fontsize=8)
    return save_png(fig, path)
