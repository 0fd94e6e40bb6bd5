"""Plot the training loss and validation metrics of an mmengine run as a PNG.

Usage:
    python tools/analysis/plot_curves.py WORK_DIR [--out curves.png] [--metric accuracy/top1]

Reads the newest ``WORK_DIR/<timestamp>/vis_data/scalars.json`` (mmengine's LocalVisBackend).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def read_scalars(work_dir: str | Path) -> list[dict]:
    """All scalar records of the newest run in ``work_dir``."""
    runs = sorted(Path(work_dir).glob("*/vis_data/scalars.json"))
    if not runs:
        raise FileNotFoundError(f"{work_dir}: no */vis_data/scalars.json (was it trained with LocalVisBackend?)")
    return [json.loads(line) for line in runs[-1].read_text().splitlines() if line.strip()]


def plot_curves(work_dir: str | Path, out: str | Path | None = None, metric: str = "accuracy/top1") -> Path:
    """Write loss (per logged iteration) and ``metric`` (per validation) curves; returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_scalars(work_dir)
    train = [r for r in records if "loss" in r]
    val = [r for r in records if metric in r]
    fig, ax1 = plt.subplots(figsize=(7, 4))
    ax1.plot([r["step"] for r in train], [r["loss"] for r in train], color="tab:blue", label="train loss")
    ax1.set_xlabel("iteration" if train else "")
    ax1.set_ylabel("loss", color="tab:blue")
    if val:
        ax2 = ax1.twinx()
        # validation records count epochs in 'step'; put them on the iteration axis when possible
        per_epoch = max(r["step"] for r in train) / max(r.get("epoch", 1) for r in train) if train else 1
        xs = [r["step"] * per_epoch for r in val]
        ax2.plot(xs, [r[metric] for r in val], "o-", color="tab:red", label=metric)
        ax2.set_ylabel(metric, color="tab:red")
    ax1.set_title(Path(work_dir).name)
    fig.tight_layout()
    out = Path(out) if out else Path(work_dir) / "curves.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work_dir")
    parser.add_argument("--out", default=None)
    parser.add_argument("--metric", default="accuracy/top1")
    args = parser.parse_args(argv)
    print(plot_curves(args.work_dir, args.out, args.metric))
    return 0


if __name__ == "__main__":
    sys.exit(main())
