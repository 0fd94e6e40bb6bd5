"""Train the digits configs from scratch, evaluate them and report (the classification main job).

Usage:
    python tools/train_digits.py [--mixers selfattention feedforward reattention externalattention]
                                 [--seeds 0 1 2 3 4] [--work-root work_dirs/digits] [--readme README.md]

For each mixer: builds data/digits if missing (tools/data/prepare_digits.py), trains
``configs/classification/digits/<mixer>_*.py`` with tools/train.py, evaluates the last checkpoint
with tools/test.py, plots the loss / accuracy curves, and prints where the checkpoint, log and plot
are. With ``--readme`` the results table (mixer, params, top-1, minutes) replaces the one between
the ``digits-table`` markers of that file.

A run is a function of the seed (the config's ``randomness.seed``, 0), the machine's CPU kernels and
the number of threads: the same command on the same machine gives the same top-1. ``--seeds`` trains
each mixer once per seed (``randomness.seed=S``, work dirs ``<config>/seed<S>``) and reports every
run's top-1 with their minimum, median and maximum, the spread to expect on another machine. The CPU
model, its instruction set, the thread count and the dataset's digest are printed with the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

MIXERS = ["selfattention", "feedforward", "reattention", "externalattention"]
START, END = "<!-- digits-table:start -->", "<!-- digits-table:end -->"


def config_for(mixer: str) -> Path:
    """The digits config of a mixer."""
    found = sorted((ROOT / "configs/classification/digits").glob(f"{mixer}_*.py"))
    if not found:
        raise SystemExit(f"error: no digits config for mixer {mixer!r} in configs/classification/digits")
    return found[0]


def count_params(config: Path) -> int:
    """Parameters of a config's model."""
    from mmengine.config import Config

    import backbones  # noqa: F401
    from backbones.runner.config import build_model

    return sum(p.numel() for p in build_model(Config.fromfile(str(config))).parameters())


def run(cmd: list[str], log: Path) -> None:
    """Run a command, its output to ``log``; fail with the log's tail."""
    with open(log, "w") as f:
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)
    if proc.returncode:
        tail = "\n".join(log.read_text().splitlines()[-20:])
        raise SystemExit(f"error: {' '.join(cmd)} failed (exit {proc.returncode}); see {log}:\n{tail}")


def machine() -> str:
    """The CPU model, the instruction set torch's kernels use and torch's thread count."""
    import torch

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    isa, threads = torch.backends.cpu.get_cpu_capability(), torch.get_num_threads()
    return f"{model}, {isa}, {threads} threads, torch {torch.__version__}"


def spread(values: list[float]) -> dict[str, float]:
    """Minimum, median and maximum of ``values``."""
    if not values:
        raise ValueError("spread() of no values")
    return dict(min=min(values), median=statistics.median(values), max=max(values))


def train_and_test(mixer: str, work_root: Path, data: str = "data/digits", seed: int | None = None) -> dict:
    """Train + test one mixer on the digits folder ``data`` (with ``randomness.seed=seed`` if given);
    returns its result row."""
    from analysis.plot_curves import plot_curves

    config = config_for(mixer)
    work = work_root / config.stem if seed is None else work_root / config.stem / f"seed{seed}"
    work.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    opts = ["--cfg-options", *[f"{d}_dataloader.dataset.data_root={data}" for d in ("train", "val", "test")]]
    if seed is not None:
        opts.append(f"randomness.seed={seed}")
    start = time.perf_counter()
    run([py, "tools/train.py", str(config), "--work-dir", str(work), *opts], work / "train.out")
    minutes = (time.perf_counter() - start) / 60
    ckpt = Path((work / "last_checkpoint").read_text().strip())
    run([py, "tools/test.py", str(config), str(ckpt), "--work-dir", str(work / "test"),
         "--out", str(work / "predictions.pkl"), *opts], work / "test.out")
    m = re.findall(r"accuracy/top1: ([0-9.]+)", (work / "test.out").read_text())
    if not m:
        raise SystemExit(f"error: no accuracy/top1 in {work / 'test.out'}")
    plot = plot_curves(work)
    logs = sorted(work.glob("*/*.log"))
    return dict(mixer=mixer, config=str(config.relative_to(ROOT)), params=count_params(config),
                top1=float(m[-1]), minutes=minutes, checkpoint=str(ckpt), log=str(logs[-1]) if logs else "",
                plot=str(plot), predictions=str(work / "predictions.pkl"))


def table(rows: list[dict]) -> str:
    """Markdown table of the results: one row per mixer; with several seeds, the median top-1 and the range."""
    by_mixer: dict[str, list[dict]] = {}
    for r in rows:
        by_mixer.setdefault(r["mixer"], []).append(r)
    several = any(len(runs) > 1 for runs in by_mixer.values())
    head = "val top-1 (%), median [min-max] over seeds" if several else "val top-1 (%)"
    lines = [f"| mixer | config | params | {head} | train minutes |", "|---|---|---:|---:|---:|"]
    for mixer, runs in by_mixer.items():
        r, s = runs[0], spread([x["top1"] for x in runs])
        top1 = f"{s['median']:.2f} [{s['min']:.2f}-{s['max']:.2f}], {len(runs)} seeds"
        top1 = top1 if several else f"{r['top1']:.2f}"
        minutes = statistics.median(x["minutes"] for x in runs)
        lines.append(f"| {mixer} | `{r['config']}` | {r['params']:,} | {top1} | {minutes:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mixers", nargs="+", default=MIXERS, choices=MIXERS)
    parser.add_argument("--work-root", default="work_dirs/digits")
    parser.add_argument("--data", default="data/digits", help="digits folder (built here if missing)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None,
                        help="train each mixer once per seed and report the spread (default: the config's seed)")
    parser.add_argument("--readme", default=None, help="write the results table into this markdown file")
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # configs name data/digits relative to the repository
    from data.prepare_digits import prepare

    digest = json.loads((prepare(ROOT / args.data) / "dataset.json").read_text())["sha256"]
    print(f"[digits] machine: {machine()}; data {args.data} sha256 {digest[:12]}", flush=True)
    rows = []
    for mixer in args.mixers:
        for seed in args.seeds or [None]:
            print(f"[digits] training {mixer}" + (f" (seed {seed})" if seed is not None else "") + " ...", flush=True)
            row = train_and_test(mixer, ROOT / args.work_root, args.data, seed)
            rows.append(row)
            print(f"[digits] {mixer}: top-1 {row['top1']:.2f}% in {row['minutes']:.1f} min\n"
                  f"  checkpoint:  {row['checkpoint']}\n  log:         {row['log']}\n"
                  f"  curves:      {row['plot']}\n  predictions: {row['predictions']}", flush=True)
        if args.seeds:
            top1 = [r["top1"] for r in rows if r["mixer"] == mixer]
            s = spread(top1)
            print(f"[digits] {mixer}: top-1 per seed " + ", ".join(f"{x:.2f}" for x in top1)
                  + f"; min {s['min']:.2f} / median {s['median']:.2f} / max {s['max']:.2f} over {len(top1)} seeds"
                  + f" ({machine()})", flush=True)
    print(table(rows))
    if args.readme:
        from backbones.checkpoint.atomic import replace_between_markers

        replace_between_markers(args.readme, START, END, table(rows))
        print(f"[digits] table written to {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
