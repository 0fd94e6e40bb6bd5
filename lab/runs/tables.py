"""The task tables: every registered mixer trained from scratch on a bundled dataset, evaluated, reported.

Usage:
    python lab/tools/train_table.py TASK [--mixers SelfAttention ...] [--seeds 0 1 2] [--jobs 1] [--threads 2]
                                [--cache work_dirs/runs] [--readme README.md] [--processes 1]

TASK is ``digits`` (image classification), ``digit-scenes`` (segmentation), ``shapes-cls`` or ``shapes-part``
(point clouds). The rows are the registered mixers (``backbones.MIXERS``) that have a config for the task in
its folder (``<model>_<mixer>-...``, the config naming scheme of configs/README.md), plus the task's other
models (EANet's head on digit scenes). Each run goes through :mod:`lab.runs.runs`: the shipped config as it
is (``--seeds`` sets ``randomness.seed``), trained with tools/train.py and tested with tools/test.py in
processes of their own, cached by the hash of its settings. The bundled data are built on first use. The table
(params, test metrics - median [min-max] over seeds -, train minutes) is printed with the machine, and with
``--readme`` written between the task's markers of that file. A run is a function of its seed, the machine's
CPU kernels and the thread count: the same command on the same machine gives the same table.

``--processes N`` trains each run with ``tools/dist_train.sh`` on N processes, each with the config's batch
divided by N (the same total batch; the threads shared among them), so that a distributed run can be compared
with the single-process one of the same seeds.

Every cached run is verified before it is reused (:mod:`lab.runs.run_cache`): an edited, truncated or
unverifiable result, or a missing or changed checkpoint, is named with its file and trained again. The table is
printed with the number of its runs produced on a code digest other than the current one, and their keys.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from backbones.utils.machine import machine_info
from lab.runs.report import fmt_spread, markdown_table, plot_curves, replace_between_markers
from lab.runs.run_cache import code_digest, code_note
from lab.runs.runs import Context, Run, hms, repo_root, run_all


@dataclass(frozen=True)
class Task:
    """A task table: where its configs are, what they train on, what the test reports (``metrics``, read from
    ``tools/test.py``'s output) and under which column names (``labels``: the split the config tests on)."""

    folder: str
    model: str
    dataset: str
    metrics: tuple[str, ...]
    labels: tuple[str, ...]
    marker: str
    minutes: float
    suffix: str = ""
    others: tuple[str, ...] = ()


TASKS: dict[str, Task] = {
    "digits": Task("configs/classification/digits", "mixervit", "digits", ("accuracy/top1",), ("val top-1 (%)",),
                   "digits-table", 4, suffix="_digits-32px"),
    "digit-scenes": Task("configs/segmentation/digit_scenes", "upernet", "digit_scenes", ("mIoU", "aAcc"),
                         ("val mIoU (%)", "val aAcc (%)"), "seg-table", 10, others=("eanet",)),
    "shapes-cls": Task("configs/pointcloud/shapes", "pct", "shapes_cls", ("point/OA",), ("val OA (%)",),
                       "pointcloud-cls-table", 5,
                       suffix="_shapes-cls-512pts"),
    "shapes-part": Task("configs/pointcloud/shapes", "pct", "shapes_part", ("part/ins_mIoU",),
                        ("val instance mIoU (%)",), "pointcloud-part-table", 5, suffix="_shapes-part-512pts"),
}


def mixer_slug(name: str) -> str:
    """A registered mixer's name in config file names: lower case, without a ``Mixer`` suffix
    (``FeedForwardMixer`` -> ``feedforward``; configs/README.md)."""
    return name.lower().removesuffix("mixer")


def task_configs(root: Path, task: Task) -> dict[str, Path]:
    """Row name -> config: each registered mixer with a config for the task (by the naming scheme), then the
    task's other models."""
    from backbones.models.mixers import MIXERS

    folder = root / task.folder
    found: dict[str, Path] = {}
    for name in MIXERS:
        hits = sorted(folder.glob(f"{task.model}_{mixer_slug(name)}[-_]*{task.suffix}.py"))
        if hits:
            found[name] = hits[0]
    for other in task.others:
        hits = sorted(folder.glob(f"{other}_*{task.suffix}.py"))
        if hits:
            found[other] = hits[0]
    if not found:
        raise SystemExit(f"error: no config of the naming scheme in {folder}")
    return found


def table(rows: list[tuple[str, Path, list[dict]]], task: Task, root: Path) -> str:
    """Markdown table: one row per model with its config, params, metrics (median [min-max] over seeds), minutes."""
    several = any(len(runs) > 1 for _, _, runs in rows)
    spread = " median [min-max]" if several else ""
    head = ["model", "config", "params", *[label + spread for label in task.labels], "train minutes"]
    body = []
    for name, config, runs in rows:
        cells = [fmt_spread([r["metrics"][m] for r in runs]) for m in task.metrics]
        if several:
            cells[0] += f", {len(runs)} seeds"
        minutes = statistics.median(r["seconds"]["train"] / 60 for r in runs)
        body.append([name, f"`{config.relative_to(root)}`", f"{runs[0]['params']:,}", *cells, f"{minutes:.1f}"])
    return markdown_table(head, body, align="lll" + "r" * (len(task.metrics) + 1))


def split_batch(config: Path, processes: int) -> dict[str, int]:
    """The overrides giving each of ``processes`` training processes an equal share of the config's batch."""
    if processes == 1:
        return {}
    from mmengine.config import Config

    batch = Config.fromfile(str(config)).train_dataloader.batch_size
    if batch % processes:
        raise SystemExit(f"error: {config}: train batch {batch} does not split over {processes} processes")
    return {"train_dataloader.batch_size": batch // processes}


def curve_title(result: dict) -> str:
    """The loss/accuracy plot's title: the model, its seed and its config file."""
    return f"{result['label']} (seed {result['seed']}): {Path(result['settings']['config']).stem}"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="lab/tools/train_table.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=list(TASKS))
    parser.add_argument("--mixers", nargs="+", default=None, help="rows to run (default: every model of the task)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at the same time")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 2)),
                        help="torch threads per training process")
    parser.add_argument("--cache", default="work_dirs/runs", help="run cache (shared with the claims study)")
    parser.add_argument("--readme", default=None, help="write the table between the task's markers of this file")
    parser.add_argument("--processes", type=int, default=1,
                        help="train with tools/dist_train.sh on this many processes, same total batch")
    args = parser.parse_args(argv)
    if args.processes < 1:
        parser.error(f"--processes must be at least 1, got {args.processes}")
    root = repo_root()
    task = TASKS[args.task]
    configs = task_configs(root, task)
    chosen = args.mixers or list(configs)
    unknown = [m for m in chosen if m not in configs]
    if unknown:
        parser.error(f"no {args.task} config for {unknown}; models with one: {list(configs)}")
    ctx = Context(root=root, cache=Path(args.cache).resolve(), threads=args.threads,
                  log=lambda s: print(s, flush=True))
    runs = [Run(label=name, config=str(configs[name].relative_to(root)), seed=seed, dataset=task.dataset,
                metric=task.metrics[0], extra_metrics=task.metrics[1:], info=dict(model=name),
                processes=args.processes, overrides=split_batch(configs[name], args.processes))
            for name in chosen for seed in args.seeds]
    results, errors = run_all(ctx, args.task, runs, {"": 60.0 * task.minutes}, args.jobs, unit="run",
                              announce=f"{args.threads} thread(s) per run; ")
    for r in results:
        folder = ctx.cache / r["key"]
        logs = sorted((folder / "work").glob("*/*.log"))
        print(f"[{args.task}] {r['label']} (seed {r['seed']}): " + ", ".join(
            f"{m} {r['metrics'][m]:.2f}" for m in task.metrics) + f" in {hms(r['seconds']['train'])}\n"
            f"  checkpoint:  {r['checkpoint']}\n  log:         {logs[-1] if logs else folder / 'train.log'}\n"
            f"  curves:      {plot_curves(folder / 'work', metric=task.metrics[0], title=curve_title(r))}\n"
            f"  predictions: {folder / 'predictions.pkl'}", flush=True)
    rows = [(name, configs[name], [r for r in results if r["label"] == name]) for name in chosen]
    rows = [row for row in rows if row[2]]
    m = machine_info(args.threads)
    procs = f"{args.processes} processes sharing them, " if args.processes > 1 else ""
    print(f"[{args.task}] {m['cpu']} ({m['isa']}), {m['threads']} thread(s) per run, {procs}torch {m['torch']}; "
          f"seeds {args.seeds}")
    print(f"[{args.task}] {code_note(results, code_digest(root))}")
    text = table(rows, task, root) if rows else ""
    print(text)
    if args.readme and rows:
        replace_between_markers(args.readme, f"<!-- {task.marker}:start -->", f"<!-- {task.marker}:end -->", text)
        print(f"[{args.task}] table written to {args.readme}")
    for e in errors:
        print(f"[{args.task}] failed: {e}", file=sys.stderr)
    return 1 if errors else 0
