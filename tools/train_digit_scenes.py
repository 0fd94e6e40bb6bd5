"""Train the digit-scenes segmentation configs from scratch, evaluate them and report (mixer, params, mIoU, aAcc,
minutes).

Usage:
    python tools/train_digit_scenes.py [--models selfattention feedforward reattention externalattention eanet]
                                       [--work-root work_dirs/digit_scenes] [--data data/digit_scenes]
                                       [--threads 1] [--jobs 2] [--readme README.md]

Builds the scenes if missing (tools/data/prepare_digit_scenes.py), then for each config of
``configs/segmentation/digit_scenes/`` trains it with tools/train.py, evaluates the last checkpoint on
the val scenes with tools/test.py (writing coloured overlays with --show-dir) and prints where the
checkpoint, log and overlays are. With ``--readme`` the results table replaces the block between the
``seg-table`` markers (inside the segmentation section) of that file; rows of models not trained in
this run (``--models``) are kept.

``--threads`` sets torch's intra-op threads of the training and test processes (OMP_NUM_THREADS) and
``--jobs`` how many configs train at once. The defaults (1 thread, 2 jobs) give each run one of the
machine's two cores: the reported minutes are those of one core. Two OpenMP threads per run spin
against any other job on the machine (measured: 6.5 s per iteration with 2 threads, 0.36 s with 1,
same config, same minute, under load).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

CONFIGS = ROOT / "configs/segmentation/digit_scenes"
MODELS = ["selfattention", "feedforward", "reattention", "externalattention", "eanet"]
START, END = "<!-- seg-table:start -->", "<!-- seg-table:end -->"


def config_for(model: str) -> Path:
    """The digit-scenes config of a mixer (``upernet-<mixer>_*``) or of the EANet head (``eanet-*``)."""
    found = sorted(CONFIGS.glob(f"upernet-{model}_*.py")) or sorted(CONFIGS.glob(f"{model}-*.py"))
    if not found:
        raise SystemExit(f"error: no digit-scenes config for {model!r} in {CONFIGS}")
    return found[0]


def count_params(config: Path) -> int:
    """Parameters of a config's model."""
    from mmengine.config import Config

    from backbones.runner.config import build_model

    return sum(p.numel() for p in build_model(Config.fromfile(str(config))).parameters())


def train_and_test(model: str, work_root: Path, data: str) -> dict:
    """Train + test one config on the scenes in ``data``; returns its result row."""
    from train_digits import run

    config = config_for(model)
    work = work_root / config.stem
    work.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    opts = ["--cfg-options", *[f"{d}_dataloader.dataset.data_root={data}" for d in ("train", "val", "test")]]
    start = time.perf_counter()
    run([py, "tools/train.py", str(config), "--work-dir", str(work), *opts], work / "train.out")
    minutes = (time.perf_counter() - start) / 60
    ckpt = Path((work / "last_checkpoint").read_text().strip())
    run([py, "tools/test.py", str(config), str(ckpt), "--work-dir", str(work / "test"),
         "--show-dir", str(work / "overlays"), *opts], work / "test.out")
    text = (work / "test.out").read_text()
    miou, aacc = re.findall(r"mIoU: ([0-9.]+)", text), re.findall(r"aAcc: ([0-9.]+)", text)
    if not miou or not aacc:
        raise SystemExit(f"error: no mIoU / aAcc in {work / 'test.out'}")
    logs = sorted(work.glob("*/*.log"))
    return dict(model=model, config=str(config.relative_to(ROOT)), params=count_params(config),
                miou=float(miou[-1]), aacc=float(aacc[-1]), minutes=minutes, checkpoint=str(ckpt),
                log=str(logs[0]) if logs else "", overlays=str(work / "overlays"))


def table(rows: list[dict], keep: dict[str, str] | None = None) -> str:
    """Markdown table of the results, in ``MODELS`` order; ``keep`` adds earlier lines of models not in ``rows``."""
    lines = {r["model"]: f"| {r['model']} | `{r['config']}` | {r['params']:,} | {r['miou']:.2f} | {r['aacc']:.2f} | "
                         f"{r['minutes']:.1f} |" for r in rows}
    lines = {**(keep or {}), **lines}
    head = ["| model | config | params | val mIoU | val aAcc | train minutes |", "|---|---|---:|---:|---:|---:|"]
    return "\n".join(head + [lines[m] for m in MODELS if m in lines])


def table_lines(markdown: str) -> dict[str, str]:
    """The rows of a results table already between the markers of ``markdown``, by model (empty if none)."""
    if START not in markdown or END not in markdown:
        return {}
    block = markdown.split(START, 1)[1].split(END, 1)[0]
    rows = [line for line in block.splitlines() if line.startswith("| ")]
    return {line.split("|")[1].strip(): line for line in rows if line.split("|")[1].strip() in MODELS}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--work-root", default="work_dirs/digit_scenes")
    parser.add_argument("--data", default="data/digit_scenes", help="scenes folder (built here if missing)")
    parser.add_argument("--readme", default=None, help="write the results table into this markdown file")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads per process")
    parser.add_argument("--jobs", type=int, default=2, help="configs trained at the same time")
    args = parser.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # inherited by the train / test processes
    os.chdir(ROOT)  # configs name data/digit_scenes relative to the repository
    from data.prepare_digit_scenes import prepare

    prepare(ROOT / args.data)

    def one(model: str) -> dict:
        print(f"[digit scenes] training {model} ...", flush=True)
        row = train_and_test(model, ROOT / args.work_root, args.data)
        print(f"[digit scenes] {model}: mIoU {row['miou']:.2f}, aAcc {row['aacc']:.2f} in {row['minutes']:.1f} min\n"
              f"  checkpoint: {row['checkpoint']}\n  log:        {row['log']}\n  overlays:   {row['overlays']}",
              flush=True)
        return row

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:  # each job is a train + test subprocess pair
        rows = list(pool.map(one, args.models))
    print(table(rows))
    if args.readme:
        from backbones.checkpoint.atomic import replace_between_markers

        keep = table_lines(Path(args.readme).read_text())  # rows of models not trained in this run stay
        replace_between_markers(args.readme, START, END, table(rows, keep))
        print(f"[digit scenes] table written to {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
