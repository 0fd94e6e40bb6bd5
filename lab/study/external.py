"""Claim 3 - External attention (Guo et al. 2021, "Beyond Self-attention: External Attention using Two Linear
Layers for Visual Tasks", arXiv 2105.02358).

The claims: attention against a small learned memory (S units shared by all samples) costs time and memory
linear in the token count N, where self-attention's grow as N^2 (the paper's complexity comparison,
Sec. 3); a small S suffices (the paper uses S = 64); and the same layer serves every task (classification,
segmentation, point clouds, ...).

The experiment: (1) time and peak memory of one layer of each against N (``lab/tools/benchmark.py
--sweep-tokens``, each mixer in a fresh process), with the fitted exponents; (2) accuracy against the memory
size S on digits (classification) and digit scenes (segmentation); (3) EA against self-attention on all
three tasks (digits, digit scenes, generated shapes) with the same config, recipe and seeds, EA at matched
parameters (``expansion=2``: its trans_dims / proj pair costs 4 C^2 like self-attention's qkv / proj) and
as in EAMLP (``expansion=4``).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from backbones.utils.files import write_text_atomic
from lab.runs.report import figure, fmt_spread, group, markdown_table, save_png, values, write_table
from lab.runs.runs import Context, Run, code_digest, run_key

NAME = "external"
EA_CONFIGS = {
    "digits": "configs/classification/digits/mixervit_externalattention-p4-w96-d4_1xb64-40e_digits-32px.py",
    "digit_scenes": "configs/segmentation/digit_scenes/"
                    "upernet_externalattention-cnn-p4-w64-d4_1xb8-3k_digit-scenes-64px.py",
    "shapes_cls": "configs/pointcloud/shapes/pct_externalattention-w64_1xb32-10e_shapes-cls-512pts.py",
}
METRICS = {"digits": "accuracy/top1", "digit_scenes": "mIoU", "shapes_cls": "point/OA"}
#: the shipped tables that already compare the mixers (as shipped, not at matched parameters)
CITED = {"digits": "`lab/tools/train_table.py digits --seeds 0 1 2` (README, digits table)",
         "digit_scenes": "`lab/tools/train_table.py digit-scenes` (README, digit-scenes table)",
         "shapes_cls": "`lab/tools/train_table.py shapes-cls` (README, point-cloud table)"}
SWEEP_MIXERS = ("ExternalAttention", "SelfAttention")
FULL = dict(sweep=dict(tokens=(196, 400, 784, 1600, 2500, 4096, 6400), rounds=5, dim=192, heads=3),
            memories=(4, 8, 16, 32, 64, 128), memory_seeds={"digits": (0, 1, 2), "digit_scenes": (0,)},
            matched_seeds={"digits": (0, 1, 2), "digit_scenes": (0,), "shapes_cls": (0, 1, 2)},
            kinds=("SelfAttention", "EA-e2", "EA-e4"),
            lengths={"digits": None, "digit_scenes": None, "shapes_cls": None})
#: quick: the S sweep on digits only, EA at matched parameters only, short schedules (a check, not evidence)
QUICK = dict(sweep=dict(tokens=(196, 784, 3136), rounds=2, dim=192, heads=3),
             memories=(8, 64), memory_seeds={"digits": (0,)},
             matched_seeds={"digits": (0,), "digit_scenes": (0,), "shapes_cls": (0,)},
             kinds=("SelfAttention", "EA-e2"),
             lengths={"digits": 4, "digit_scenes": 200, "shapes_cls": 2})
#: seconds per unit of cost (an epoch for digits and shapes, 100 iterations for scenes), 1 thread, AMD EPYC, this
#: study's quick runs; keys ``task:kind`` or ``task`` for the rest
COST_UNIT = "epoch (digits, shapes) or 100 iterations (scenes)"
DEFAULT_RATES = {"digits:SelfAttention": 4.5, "digits": 8.0, "digit_scenes:SelfAttention": 20.0, "digit_scenes": 30.0,
                 "shapes_cls": 6.0}
_FULL_LENGTH = {"digits": 40, "digit_scenes": 3000, "shapes_cls": 10}


def _mixer(kind: str, memory: int = 64) -> str | dict:
    if kind == "SelfAttention":
        return "SelfAttention"
    return dict(type="ExternalAttention", memory=memory, expansion=4 if kind == "EA-e4" else 2, _delete_=True)


def make_run(task: str, kind: str, memory: int, seed: int, s: dict, part: str) -> Run:
    """One run on the task's EA config (its read-out, recipe and schedule) with the mixer replaced."""
    length = s["lengths"].get(task)
    units = (length or _FULL_LENGTH[task]) / (100 if task == "digit_scenes" else 1)
    name = kind if kind == "SelfAttention" else f"{kind} S{memory}"
    return Run(label=f"{task} {name}", config=EA_CONFIGS[task], seed=seed, length=length, dataset=task,
               overrides={"model.backbone.mixer": _mixer(kind, memory), **s.get("extra", {}).get(task, {})},
               metric=METRICS[task], cost=units, rate_key=f"{task}:{kind}",
               info=dict(part=part, task=task, kind=kind, memory=memory))


def plan(s: dict) -> list[Run]:
    """The training runs of the study for settings ``s`` (the token sweep is :func:`measure`)."""
    runs = [make_run(t, "EA-e4", m, seed, s, "memory") for t, seeds in s["memory_seeds"].items()
            for m in s["memories"] for seed in seeds]
    runs += [make_run(t, kind, 64, seed, s, "matched") for t, seeds in s["matched_seeds"].items()
             for kind in s["kinds"] for seed in seeds]
    return runs


def measure(ctx: Context, s: dict, cached_only: bool = False) -> list[dict] | None:
    """The token sweep (``benchmark.py --sweep-tokens`` for EA and self-attention), cached like a run (keyed by the
    code too); ``cached_only``: None when this code has not measured it yet."""
    sw = s["sweep"]
    key = run_key(dict(sweep=sw, mixers=SWEEP_MIXERS, threads=ctx.threads, code=code_digest(ctx.root)))
    path = ctx.cache / f"sweep-{key}" / "sweep.json"
    if path.exists():
        try:
            rows = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            ctx.log(f"[{NAME}] token sweep: {path}: unreadable ({type(e).__name__}: {e}); expected the complete JSON "
                    f"list the sweep writes; not reused")
        else:
            ctx.log(f"[{NAME}] token sweep: cached ({path})")
            return rows
    if cached_only:
        return None
    ctx.log(f"[{NAME}] token sweep: N = {list(sw['tokens'])}, {sw['rounds']} rounds, dim {sw['dim']}, "
            f"{sw['heads']} heads, {ctx.threads} thread(s) ...")
    cmd = [sys.executable, "lab/tools/benchmark.py", "--sweep-tokens", "--mixers", *SWEEP_MIXERS, "--tokens",
           *map(str, sw["tokens"]), "--rounds", str(sw["rounds"]), "--dim", str(sw["dim"]), "--heads",
           str(sw["heads"]), "--threads", str(ctx.threads), "--json", str(path.with_suffix(".tmp.json"))]
    path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(cmd, cwd=ctx.root, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"token sweep failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    rows = json.loads(path.with_suffix(".tmp.json").read_text())
    write_text_atomic(json.dumps(rows, indent=1) + "\n", path)
    path.with_suffix(".tmp.json").unlink()
    return rows


def memory_exponent(rows: list[dict]) -> float:
    """Slope of log(peak - peak at the smallest N) against log N over the three largest N (the memory the
    layer adds; the process's own baseline is removed); nan when it does not grow."""
    base = rows[0]["peak_mb"]
    pts = [(math.log(r["tokens"]), math.log(r["peak_mb"] - base)) for r in rows[-3:] if r["peak_mb"] - base > 1]
    return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0]) if len(pts) >= 2 else float("nan")


def report(results: list[dict], out: Path, header: list[str], sweep: list[dict] | None = None) -> list[Path]:
    """``table.md`` (sweep, memory size, matched comparison), ``sweep.png`` and ``memory.png``; without a sweep
    (a partial report) its section and plot are left out."""
    by_mixer = {m: sorted((r for r in sweep or [] if r["mixer"] == m), key=lambda r: r["tokens"]) for m in SWEEP_MIXERS}
    sections = _sweep_section(by_mixer) if sweep else []
    mem = group([r for r in results if r["info"]["part"] == "memory"], "task", "memory")
    mem_rows = [[t, m, f"{runs[0]['params']:,}", len(runs), fmt_spread(_metric(runs))] for (t, m), runs in mem.items()]
    matched = group([r for r in results if r["info"]["part"] == "matched"], "task", "kind")
    match_rows = []
    for task in dict.fromkeys(t for t, _ in matched):
        cells = []
        for kind in ("SelfAttention", "EA-e2", "EA-e4"):
            runs = matched.get((task, kind), [])
            cells += [f"{runs[0]['params']:,}" if runs else "-", fmt_spread(_metric(runs)) if runs else "-"]
        match_rows.append([task, METRICS[task], len(matched.get((task, "SelfAttention"), [])),
                           *cells, CITED[task]])
    sections += [
        "## Accuracy against the memory size S (EAMLP's expansion 4)",
        markdown_table(["task", "S", "params", "seeds", "val metric"], mem_rows),
        "## EA against self-attention, same config, recipe and seeds",
        markdown_table(["task", "metric", "seeds", "SA params", "SA", "EA e=2 params", "EA e=2", "EA e=4 params",
                        "EA e=4 (S=64)", "as shipped (not matched)"], match_rows),
        "Each cell: median [min-max] over the seeds. The task's EA config with the mixer replaced: its read-out, "
        "schedule and data. e = EA's width expansion; e=2 matches self-attention's 4 C^2 projection weights."]
    paths = [write_table(out, "External attention: linear cost, small memory, every task", header, sections)]
    paths += ([_plot_sweep(by_mixer, out / "sweep.png")] if sweep else []) + [_plot_memory(mem, out / "memory.png")]
    return paths


def _sweep_section(by_mixer: dict[str, list[dict]]) -> list[str]:
    """The sweep's table and fitted exponents."""
    tokens = [r["tokens"] for r in by_mixer[SWEEP_MIXERS[0]]]
    rows = [[n, *[f"{by_mixer[m][i]['ms']:.2f}" for m in SWEEP_MIXERS],
             *[f"{by_mixer[m][i]['peak_mb']:.0f}" for m in SWEEP_MIXERS]] for i, n in enumerate(tokens)]
    fits = [f"- {m}: time ~ N^{by_mixer[m][0]['exponent']:.2f}, added memory ~ N^{memory_exponent(by_mixer[m]):.2f} "
            f"(largest three N)" for m in SWEEP_MIXERS]
    return ["## Time and memory against tokens (one layer, batch 1)",
            markdown_table(["tokens N", *[f"{m} ms" for m in SWEEP_MIXERS], *[f"{m} peak MB" for m in SWEEP_MIXERS]],
                           rows),
            "Peak = resident set of the whole process (weights, interpreter and torch included).\n" + "\n".join(fits)]


def _metric(runs: list[dict]) -> list[float]:
    return values(runs, lambda r: r["metrics"][METRICS[r["info"]["task"]]])


def _plot_sweep(by_mixer: dict, path: Path) -> Path:
    fig, (ax1, ax2) = figure(2, 4.6, 3.4)
    for m, rows in by_mixer.items():
        n = [r["tokens"] for r in rows]
        ax1.loglog(n, [r["ms"] for r in rows], "o-", label=f"{m} (N^{rows[0]['exponent']:.2f})")
        ax2.semilogx(n, [r["peak_mb"] for r in rows], "o-", label=f"{m} (added: N^{memory_exponent(rows):.2f})")
    first = next(iter(by_mixer.values()))
    n0, t0 = first[0]["tokens"], first[0]["ms"]
    n = [r["tokens"] for r in first]
    for k, style in ((1, ":"), (2, "--")):  # guides through the first point
        ax1.loglog(n, [t0 * (x / n0) ** k for x in n], "k" + style, lw=0.8, label=f"~N^{k}")
    ax1.set_ylabel("forward ms (1 layer, batch 1)")
    ax2.set_ylabel("peak resident MB (whole process)")
    for ax in (ax1, ax2):
        ax.set_xticks(n, [str(x) for x in n], fontsize=7)
        ax.minorticks_off()
        ax.set_xlabel("tokens N")
        ax.legend(fontsize=7)
    return save_png(fig, path)


def _plot_memory(mem: dict, path: Path) -> Path:
    tasks = list(dict.fromkeys(t for t, _ in mem))
    fig, axes = figure(max(len(tasks), 1), 4.6, 3.4)
    for ax, task in zip(axes, tasks):
        pts = sorted((m, sorted(_metric(runs))) for (t, m), runs in mem.items() if t == task)
        med = [v[len(v) // 2] for _, v in pts]
        err = [[md - v[0] for md, (_, v) in zip(med, pts)], [v[-1] - md for md, (_, v) in zip(med, pts)]]
        ax.errorbar([m for m, _ in pts], med, yerr=err, marker="o", capsize=3)
        ax.set_xscale("log", base=2)
        ax.set_xticks([m for m, _ in pts], [str(m) for m, _ in pts])
        ax.minorticks_off()
        ax.set_ylim(0, 100)
        ax.set_xlabel("memory units S")
        ax.set_ylabel(METRICS[task])
        ax.set_title(f"{task}: EA, S sweep (median, min-max)", fontsize=9)
    return save_png(fig, path)
