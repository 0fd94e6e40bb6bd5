"""Train the generated-shapes point-cloud configs from scratch, evaluate them and report.

Usage:
    python tools/train_shapes.py [--tasks cls part] [--mixers offsetattention selfattention ...]
                                 [--work-root work_dirs/shapes] [--data data/shapes] [--readme README.md]

Builds ``data/shapes`` if missing (tools/data/prepare_shapes.py), then for each task and mixer trains
``configs/pointcloud/shapes/pct-<mixer>_*_shapes-<task>.py`` with tools/train.py (timed), evaluates
the last checkpoint on the validation split with tools/test.py, and measures the share of
farthest-point sampling + kNN in a training step of the model (5 timed steps on a real batch).
Results are kept in ``WORK_ROOT/results.json`` (written after every run); ``--readme`` writes the
table between the ``pointcloud-table`` markers of that file. ``--profile-only`` re-measures the step
profile of every finished run back to back (comparable figures on a shared machine).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

MIXERS = ["offsetattention", "selfattention", "reattention", "externalattention", "feedforward"]
TASKS = {"cls": ("point/OA", "val OA (%)"), "part": ("part/ins_mIoU", "val instance mIoU (%)")}
START, END = "<!-- pointcloud-table:start -->", "<!-- pointcloud-table:end -->"


def config_for(task: str, mixer: str) -> Path:
    """The shapes config of a task and mixer."""
    found = sorted((ROOT / "configs/pointcloud/shapes").glob(f"pct-{mixer}_*_shapes-{task}.py"))
    if not found:
        raise SystemExit(f"error: no config pct-{mixer}_*_shapes-{task}.py in configs/pointcloud/shapes")
    return found[0]


def run(cmd: list[str], log: Path) -> str:
    """Run a command with its output to ``log``; fail with the log's tail; return the output."""
    with open(log, "w") as f:
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)
    text = log.read_text()
    if proc.returncode:
        tail = "\n".join(text.splitlines()[-20:])
        raise SystemExit(f"error: {' '.join(cmd)} failed (exit {proc.returncode}); see {log}:\n{tail}")
    return text


def step_profile(config: Path, steps: int = 5) -> dict:
    """Mean training-step time of a config's model on a real batch, and the share spent in FPS + kNN."""
    import torch
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DATASETS

    import backbones.points.layers as layers
    from backbones.runner.config import build_model

    cfg = Config.fromfile(str(config))
    model = build_model(cfg).train()
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    batch = model.data_preprocessor(pseudo_collate([ds[i] for i in range(cfg.train_dataloader.batch_size)]), True)
    opt = torch.optim.AdamW(model.parameters())
    spent = [0.0]

    def timed(fn):  # noqa: ANN001, ANN202
        def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            t = time.perf_counter()
            out = fn(*args, **kwargs)
            spent[0] += time.perf_counter() - t
            return out
        return wrapper

    originals = layers.farthest_point_sample, layers.knn
    layers.farthest_point_sample, layers.knn = (timed(f) for f in originals)
    try:
        total = 0.0
        for i in range(steps + 1):
            if i == 1:  # the first step warms up
                spent[0], total = 0.0, 0.0
            t = time.perf_counter()
            loss = model(**batch, mode="loss")["loss"]
            loss.backward()
            opt.step()
            opt.zero_grad()
            total += time.perf_counter() - t
    finally:
        layers.farthest_point_sample, layers.knn = originals
    return dict(step_s=total / steps, fps_knn_share=spent[0] / total)


def count_params(config: Path) -> int:
    """Parameters of a config's model."""
    from mmengine.config import Config

    from backbones.runner.config import build_model

    return sum(p.numel() for p in build_model(Config.fromfile(str(config))).parameters())


def train_and_test(task: str, mixer: str, work_root: Path) -> dict:
    """Train + test one config; its result row."""
    config = config_for(task, mixer)
    work = work_root / config.stem
    work.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    start = time.perf_counter()
    run([py, "tools/train.py", str(config), "--work-dir", str(work)], work / "train.out")
    minutes = (time.perf_counter() - start) / 60
    ckpt = Path((work / "last_checkpoint").read_text().strip())
    out = run([py, "tools/test.py", str(config), str(ckpt), "--work-dir", str(work / "test"),
               "--out", str(work / "predictions.pkl")], work / "test.out")
    key = TASKS[task][0]
    m = re.findall(re.escape(key) + r": ([0-9.]+)", out)
    if not m:
        raise SystemExit(f"error: no {key} in {work / 'test.out'}")
    prof = step_profile(config)
    return dict(task=task, mixer=mixer, config=str(config.relative_to(ROOT)), params=count_params(config),
                metric=float(m[-1]), minutes=minutes, checkpoint=str(ckpt), **prof)


def table(rows: list[dict]) -> str:
    """Markdown table of the results."""
    lines = ["| task | mixer | params | val metric (%) | train minutes | step (s) | FPS + kNN share |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['task']} | {r['mixer']} | {r['params']:,} | {TASKS[r['task']][1].split(' (')[0]} "
                     f"{r['metric']:.2f} | {r['minutes']:.1f} | {r['step_s']:.2f} | {100 * r['fps_knn_share']:.1f}% |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--mixers", nargs="+", default=MIXERS, choices=MIXERS)
    parser.add_argument("--work-root", default="work_dirs/shapes")
    parser.add_argument("--data", default="data/shapes", help="generated data folder (built here if missing)")
    parser.add_argument("--readme", default=None, help="write the results table into this markdown file")
    parser.add_argument("--table-only", action="store_true", help="only rewrite the table from results.json")
    parser.add_argument("--profile-only", action="store_true",
                        help="only re-measure the step time and FPS + kNN share of the runs in results.json")
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # configs name data/shapes relative to the repository
    from data.prepare_shapes import prepare

    import backbones  # noqa: F401
    import backbones.points  # noqa: F401
    from backbones.checkpoint.atomic import write_atomic

    work_root = ROOT / args.work_root
    results_file = work_root / "results.json"
    done = json.loads(results_file.read_text()) if results_file.exists() else {}
    if args.profile_only:
        for key, row in done.items():
            row.update(step_profile(ROOT / row["config"]))
            print(f"[shapes] {key}: FPS + kNN {100 * row['fps_knn_share']:.1f}% of a {row['step_s']:.2f} s step")
        write_atomic(json.dumps(done, indent=1).encode(), results_file)
    elif not args.table_only:
        prepare(ROOT / args.data)
        for task in args.tasks:
            for mixer in args.mixers:
                print(f"[shapes] training {task} / {mixer} ...", flush=True)
                row = train_and_test(task, mixer, work_root)
                done[f"{task}/{mixer}"] = row
                write_atomic(json.dumps(done, indent=1).encode(), results_file)
                print(f"[shapes] {task} / {mixer}: {TASKS[task][0]} {row['metric']:.2f} in {row['minutes']:.1f} min; "
                      f"FPS + kNN {100 * row['fps_knn_share']:.1f}% of a {row['step_s']:.2f} s step; "
                      f"checkpoint {row['checkpoint']}", flush=True)
    rows = [done[f"{t}/{m}"] for t in TASKS for m in MIXERS if f"{t}/{m}" in done]
    print(table(rows))
    if args.readme:
        from backbones.checkpoint.atomic import replace_between_markers

        replace_between_markers(args.readme, START, END, table(rows))
        print(f"[shapes] table written to {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
