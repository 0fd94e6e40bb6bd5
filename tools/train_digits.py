"""Train the digits configs from scratch, evaluate them and report (the classification main job).

Usage:
    python tools/train_digits.py [--mixers selfattention feedforward reattention externalattention]
                                 [--work-root work_dirs/digits] [--readme README.md]

For each mixer: builds data/digits if missing (tools/data/prepare_digits.py), trains
``configs/classification/digits/<mixer>_*.py`` with tools/train.py, evaluates the last checkpoint
with tools/test.py, plots the loss / accuracy curves, and prints where the checkpoint, log and plot
are. With ``--readme`` the results table (mixer, params, top-1, minutes) replaces the one between
the ``digits-table`` markers of that file.
"""
from __future__ import annotations

import argparse
import os
import re
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
    from backbones.engine.config import build_model

    return sum(p.numel() for p in build_model(Config.fromfile(str(config))).parameters())


def run(cmd: list[str], log: Path) -> None:
    """Run a command, its output to ``log``; fail with the log's tail."""
    with open(log, "w") as f:
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)
    if proc.returncode:
        tail = "\n".join(log.read_text().splitlines()[-20:])
        raise SystemExit(f"error: {' '.join(cmd)} failed (exit {proc.returncode}); see {log}:\n{tail}")


def train_and_test(mixer: str, work_root: Path, data: str = "data/digits") -> dict:
    """Train + test one mixer on the digits folder ``data``; returns its result row."""
    from analysis.plot_curves import plot_curves

    config = config_for(mixer)
    work = work_root / config.stem
    work.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    opts = ["--cfg-options", *[f"{d}_dataloader.dataset.data_root={data}" for d in ("train", "val", "test")]]
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
    """Markdown table of the results."""
    lines = ["| mixer | config | params | val top-1 (%) | train minutes |", "|---|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['mixer']} | `{r['config']}` | {r['params']:,} | {r['top1']:.2f} | {r['minutes']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mixers", nargs="+", default=MIXERS, choices=MIXERS)
    parser.add_argument("--work-root", default="work_dirs/digits")
    parser.add_argument("--data", default="data/digits", help="digits folder (built here if missing)")
    parser.add_argument("--readme", default=None, help="write the results table into this markdown file")
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # configs name data/digits relative to the repository
    from data.prepare_digits import prepare

    prepare(ROOT / args.data)
    rows = []
    for mixer in args.mixers:
        print(f"[digits] training {mixer} ...", flush=True)
        row = train_and_test(mixer, ROOT / args.work_root, args.data)
        rows.append(row)
        print(f"[digits] {mixer}: top-1 {row['top1']:.2f}% in {row['minutes']:.1f} min\n"
              f"  checkpoint:  {row['checkpoint']}\n  log:         {row['log']}\n"
              f"  curves:      {row['plot']}\n  predictions: {row['predictions']}", flush=True)
    print(table(rows))
    if args.readme:
        from backbones.engine.atomic import replace_between_markers

        replace_between_markers(args.readme, START, END, table(rows))
        print(f"[digits] table written to {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
