"""Configs as training runs: each in a fresh subprocess, cached by the hash of its settings (the claims study and
the task tables run through this).

A :class:`Run` names a shipped config, overrides in mmengine's ``--cfg-options`` form (dotted keys, list
indices allowed), a seed and a schedule length. :func:`execute` resolves them into one complete config
file (``<cache>/<key>/config.py``: the shipped config, the overrides, the schedule rescaled to the length,
data roots), trains it with ``tools/train.py``, evaluates the last checkpoint with ``tools/test.py`` and,
for attention models, measures DeepViT's similarities with ``tools/analysis/attention_similarity.py``;
each tool runs as its own process, so runs are isolated. The result is written atomically to
``<cache>/<key>/result.json``; the key is the hash of everything that decides the result (config path,
overrides, seed, length, the data's digest, the resolved config), so a rerun reuses every finished run and an
interrupted study resumes where it stopped. Each result carries the digests of its content and its
checkpoint, checked on every reuse: an edited, truncated or unverifiable result, or a missing or changed
checkpoint, is reported naming the file and counts as unfinished (:mod:`.run_cache`). The code's digest is
recorded with each result; :func:`verify` reruns a sample of finished runs on the current code and compares their
metrics. :func:`run_all` prints a line per run and, while one trains, its epoch or iteration with the elapsed
time and the ETA.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backbones.bundled import DATASETS, ensure_data
from backbones.engine.runner.work_dir_lock import WorkDirLock
from backbones.utils.allocator import run_setup_env
from backbones.utils.files import write_text_atomic
from backbones.utils.machine import machine_info
from lab.runs.run_cache import check_checkpoint, check_result, code_digest, read_result, write_result

# Runs execute in threads (``jobs``); the parts done in this process (reading configs, building a model to count
# its parameters) take this lock: importing OpenMMLab's packages is not thread-safe (two threads importing
# ``pkg_resources`` through mmengine's ``mmseg::`` config scheme left every later config load failing).
IN_PROCESS = threading.Lock()
PROGRESS = (re.compile(r"Epoch\(train\)\s*\[(\d+)\]"), re.compile(r"Iter\(train\)\s*\[\s*(\d+)/(\d+)\]"))


@dataclass
class Run:
    """One training run of a study.

    Attributes:
        label: short name for progress lines and tables.
        config: shipped config, relative to the repository root.
        overrides: ``--cfg-options``-style keys and values applied to it.
        seed: ``randomness.seed``.
        length: epochs (epoch-based configs) or iterations; the schedule is rescaled to it. None keeps it.
        dataset: a key of :data:`DATASETS`.
        metric: the test metric to read (``accuracy/top1``, ``mIoU``, ``point/OA``).
        extra_metrics: more test metrics to read (``aAcc``).
        loss_keys: the logged losses whose sum is the run's ``train_loss`` (a GAN: its discriminator's two).
        similarity: also measure the attention similarities of the trained model.
        processes: training processes (more than 1: ``tools/dist_train.sh``, the threads shared among them); the
            overrides set the per-process batch.
        cost: relative cost for the time estimate; ``rate_key`` groups runs sharing a seconds-per-cost rate.
        info: the study's own fields (mixer, depth, ...) for its table and plots.
    """

    label: str
    config: str
    overrides: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    length: int | None = None
    dataset: str = "digits"
    metric: str = "accuracy/top1"
    extra_metrics: tuple[str, ...] = ()
    loss_keys: tuple[str, ...] = ("loss",)
    similarity: bool = False
    processes: int = 1
    cost: float = 1.0
    rate_key: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def settings(self, data_digest: str | None) -> dict[str, Any]:
        """Everything that decides the result (the cache key is its hash)."""
        out = dict(config=self.config, overrides=self.overrides, seed=self.seed, length=self.length,
                   similarity=self.similarity, data=data_digest)
        return out if self.processes == 1 else dict(out, processes=self.processes)


@dataclass
class Context:
    """Where and how runs execute: repository root, run cache, data folders, threads per process; ``invalid``:
    key -> problem of each cached result found invalid (reported once, never reused)."""

    root: Path
    cache: Path
    data_roots: dict[str, Path] = field(default_factory=dict)
    threads: int = 1
    log: Callable[[str], None] = print
    invalid: dict[str, str] = field(default_factory=dict)

    def data_root(self, dataset: str) -> Path:
        """The folder of a bundled dataset (``data_roots`` or its default under the repository root)."""
        if dataset not in DATASETS:
            raise KeyError(f"unknown dataset {dataset!r}; valid: {sorted(DATASETS)}")
        return Path(self.data_roots.get(dataset, self.root / DATASETS[dataset][0]))


def repo_root(path: str | Path | None = None) -> Path:
    """The repository root (holds ``tools/train.py`` and ``configs/``): ``path`` or the working directory."""
    root = Path(path or os.getcwd()).resolve()
    if not (root / "tools" / "train.py").is_file() or not (root / "configs").is_dir():
        raise SystemExit(f"error: {root} is not the repository root (no tools/train.py and configs/ there); "
                         f"run the study from the checkout's root folder")
    return root


def count_params(config: Path) -> int:
    """Parameters of a config's model, built here as the Runner builds it.

    The config's ``custom_imports`` are imported (registries).
    """
    import importlib

    from mmengine.config import Config

    from backbones.engine.runner.config import build_model

    cfg = Config.fromfile(str(config), import_custom_modules=False)
    with warnings.catch_warnings():  # mmseg's deprecation notices, printed by the training process already
        warnings.simplefilter("ignore")
        for module in cfg.get("custom_imports", {}).get("imports", []):
            importlib.import_module(module)
        return sum(p.numel() for p in build_model(cfg).parameters())


def final_train_loss(work: Path, keys: tuple[str, ...] = ("loss",)) -> float:
    """Mean training loss (the sum of the logged ``keys``) over the last epoch's logged iterations (or the last tenth
    of an iteration-based run)."""
    logs = sorted(work.glob("*/vis_data/scalars.json"))
    if not logs:
        raise FileNotFoundError(f"{work}: no */vis_data/scalars.json")
    recs = [r for r in map(json.loads, logs[-1].read_text().splitlines()) if all(k in r for k in keys)]
    if not recs:
        raise ValueError(f"{logs[-1]}: no training loss logged (expected the keys {list(keys)})")
    if "epoch" in recs[-1]:
        recs = [r for r in recs if r.get("epoch") == recs[-1]["epoch"]]
    else:
        recs = recs[-max(1, len(recs) // 10):]
    return statistics.fmean(sum(r[k] for k in keys) for r in recs)


def rescale_schedule(cfg: Any, length: int) -> None:
    """Set a config's length (epochs or iterations), scale every scheduler's ``begin``/``end`` with it (each
    at least one step long), validate only at the end and save only the last checkpoint."""
    if length <= 0:
        raise ValueError(f"a run's length must be a positive number of epochs or iterations, got {length}")
    by_epoch = "max_epochs" in cfg.train_cfg
    old = cfg.train_cfg.max_epochs if by_epoch else cfg.train_cfg.max_iters
    scale = length / old
    for sched in cfg.get("param_scheduler") or []:
        begin = round(sched.get("begin", 0) * scale)
        sched["begin"] = begin
        sched["end"] = max(round(sched.get("end", old) * scale), begin + 1)
    cfg.train_cfg["max_epochs" if by_epoch else "max_iters"] = length
    cfg.train_cfg.val_interval = length + 1  # tools/test.py evaluates the last checkpoint
    ckpt = cfg.default_hooks.checkpoint
    ckpt.interval, ckpt.max_keep_ckpts, ckpt.save_best = length, 1, None
    for hook in cfg.get("custom_hooks") or []:
        if "interval" in hook:  # e.g. PreciseBN: recomputed for the last checkpoint (no validation before it)
            hook["interval"] = length


def resolve_config(ctx: Context, run: Run) -> Any:
    """The run's config: the shipped one with the overrides, the length and the seed (data roots not set)."""
    from mmengine.config import Config

    with warnings.catch_warnings():  # the OpenMMLab packages' deprecation notices, printed by the runs themselves
        warnings.simplefilter("ignore")
        cfg = Config.fromfile(str(ctx.root / run.config), import_custom_modules=False)
    cfg.merge_from_dict(copy.deepcopy(run.overrides), allow_list_keys=True)  # merging pops `_delete_` keys
    if run.length is not None:
        rescale_schedule(cfg, run.length)
    cfg.randomness = dict(cfg.get("randomness", {}), seed=run.seed)
    return cfg


def write_config(ctx: Context, run: Run, path: Path) -> None:
    """The run's complete config file: :func:`resolve_config` and the data folder."""
    with IN_PROCESS:
        cfg = resolve_config(ctx, run)
    root = ctx.data_root(run.dataset) / DATASETS[run.dataset][1]
    for split in ("train", "val", "test"):
        cfg[f"{split}_dataloader"].dataset.data_root = str(root)
    for evaluator in (cfg.get("val_evaluator"), cfg.get("test_evaluator")):
        if isinstance(evaluator, dict) and "data_root" in evaluator:  # e.g. where the GAN metric's classifier lives
            evaluator["data_root"] = str(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg.dump(str(path))


def run_key(settings: dict[str, Any]) -> str:
    """16 hex digits of the SHA-256 of the settings as canonical JSON."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=repr).encode()).hexdigest()[:16]


def keyed(ctx: Context, runs: list[Run], digests: dict[str, str | None]) -> tuple[list[dict], list[str]]:
    """Each run's settings (:meth:`Run.settings` plus the digest of its resolved config) and cache key."""
    settings = []
    for run in runs:
        resolved = json.dumps(resolve_config(ctx, run).to_dict(), sort_keys=True, default=repr)
        settings.append(dict(run.settings(digests.get(run.dataset)),
                             resolved=hashlib.sha256(resolved.encode()).hexdigest()[:16]))
    return settings, [run_key(s) for s in settings]


def _stream(cmd: list[str], log: Path, ctx: Context, on_line: Callable[[str], None] | None = None,
            threads: int | None = None) -> str:
    """Run a tool of the repository (a Python script, or a shell script run with bash), its output to ``log`` (and
    to ``on_line``); fail with the log's tail."""
    threads = str(threads or ctx.threads)
    env = dict(run_setup_env(), OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, PORT=str(_free_port()),
               PYTHON=sys.executable)
    with open(log, "w") as f:
        proc = subprocess.Popen(["bash" if cmd[0].endswith(".sh") else sys.executable, *cmd], cwd=ctx.root,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        for line in proc.stdout:
            f.write(line)
            if on_line:
                on_line(line)
        proc.wait()
    text = log.read_text()
    if proc.returncode:
        tail = "\n".join(text.splitlines()[-15:])
        raise RuntimeError(f"{' '.join(cmd[:2])} failed (exit {proc.returncode}); see {log}:\n{tail}")
    return text


def _free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the rendezvous of a multi-process run)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def execute(ctx: Context, run: Run, key: str, settings: dict, progress: Callable[[str], None],
            study: str = "") -> dict:
    """Train, test and (optionally) analyse one run of ``study`` in ``<cache>/<key>/``; returns and stores its
    result."""
    folder = ctx.cache / key
    # one process per entry: the lock (beside the folder, which is deleted and recreated) refuses a second process
    # running the same run, which would delete the first's folder mid-run (WorkDirBusyError names the holder)
    with WorkDirLock(folder, "run-cache execution", path=ctx.cache / f".{key}.lock"):
        result, _ = check_result(folder / "result.json", key, ctx.root)
        if result is not None:  # another process finished it while this one waited for its turn
            return result
        return _execute(ctx, run, key, settings, progress, study)


def _execute(ctx: Context, run: Run, key: str, settings: dict, progress: Callable[[str], None], study: str) -> dict:
    """:func:`execute` with the entry's lock held."""
    folder = ctx.cache / key
    shutil.rmtree(folder, ignore_errors=True)  # an unfinished earlier attempt: start it over
    config = folder / "config.py"
    write_config(ctx, run, config)
    start = time.perf_counter()
    work = folder / "work"
    train = ["tools/train.py", str(config)] if run.processes == 1 else \
        ["tools/dist_train.sh", str(config), str(run.processes)]
    _stream([*train, "--work-dir", str(work)], folder / "train.log", ctx, progress,
            threads=max(ctx.threads // run.processes, 1))
    train_s = time.perf_counter() - start
    ckpt = (work / "last_checkpoint").read_text().strip()
    text = _stream(["tools/test.py", str(config), ckpt, "--work-dir", str(folder / "test"), "--out",
                    str(folder / "predictions.pkl")], folder / "test.log", ctx)
    metrics = {}
    for name in (run.metric, *run.extra_metrics):
        found = re.findall(rf"{re.escape(name)}: ([0-9.]+)", text)
        if not found:
            raise RuntimeError(f"no {name} in {folder / 'test.log'}")
        metrics[name] = float(found[-1])
    metrics["train_loss"] = final_train_loss(work, run.loss_keys)
    if run.similarity:
        out = folder / "similarity.json"
        _stream(["tools/analysis/attention_similarity.py", str(config), ckpt, "--images", "64", "--out",
                 str(folder / "similarity.png"), "--json", str(out)], folder / "similarity.log", ctx)
        metrics["similarity"] = json.loads(out.read_text())
    with IN_PROCESS:
        params = count_params(config)
    result = dict(key=key, study=study, label=run.label, settings=settings, info=run.info, seed=run.seed,
                  dataset=run.dataset, metric=run.metric, extra_metrics=list(run.extra_metrics),
                  params=params, metrics=metrics,
                  seconds=dict(train=train_s, total=time.perf_counter() - start), cost=run.cost,
                  rate_key=run.rate_key, machine=machine_info(ctx.threads), code=code_digest(ctx.root), checkpoint=ckpt,
                  finished=time.strftime("%Y-%m-%d %H:%M:%S"))
    return write_result(result, folder / "result.json", ctx.root)


def cached(ctx: Context, key: str) -> dict | None:
    """The stored result of a finished run, verified (:func:`.run_cache.check_result`), or None: unfinished or
    invalid (the problem, naming the file, is logged once and kept in ``ctx.invalid``)."""
    result, problem = check_result(ctx.cache / key / "result.json", key, ctx.root)
    if problem and ctx.invalid.get(key) != problem:
        ctx.log(f"[run cache] {problem}; not reused: the run counts as unfinished")
    if problem:
        ctx.invalid[key] = problem
    else:
        ctx.invalid.pop(key, None)
    return result


#: seconds a run spends outside its training epochs (process start-ups, test, similarity), for estimates
OVERHEAD = 25.0


def estimate(runs: list[Run], keys: list[str], ctx: Context, default_rates: dict[str, float],
             study: str) -> tuple[dict[str, float], str]:
    """Seconds each unfinished run should take (by key), and the rates used (text).

    A run takes :data:`OVERHEAD` plus rate x :attr:`Run.cost`. The rate (seconds per unit of cost) of a
    ``rate_key`` is the median over the cache's finished runs of that key and ``study`` when there are any, else the
    study's default for the key or for its part before ``:`` (measured with 1 thread on the machine the study
    module names).
    """
    measured: dict[str, list[float]] = {}
    for path in sorted(ctx.cache.glob("*/result.json")):  # verified results only (invalid ones: by cached below)
        r, problem = read_result(path, path.parent.name)
        if r and not problem and r.get("study") == study and r.get("rate_key") and r.get("cost") \
                and not check_checkpoint(path, r, ctx.root):
            measured.setdefault(r["rate_key"], []).append(max(r["seconds"]["total"] - OVERHEAD, 0.0) / r["cost"])
    out, used = {}, {}
    for run, key in zip(runs, keys):
        if cached(ctx, key):
            continue
        if run.rate_key in measured:
            rate, how = statistics.median(measured[run.rate_key]), "measured in the cache"
        else:
            rate = default_rates.get(run.rate_key, default_rates.get(run.rate_key.split(":")[0]))
            rate, how = (rate, "default") if rate else (max(default_rates.values()), "largest default")
        out[key] = OVERHEAD + rate * run.cost
        used[run.rate_key] = f"{run.rate_key} {rate:.2f} ({how})"
    return out, "; ".join(used.values()) or "nothing left to run"


def hms(seconds: float) -> str:
    """``1h02m`` / ``3m05s`` / ``12s``."""
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def run_all(ctx: Context, name: str, runs: list[Run], default_rates: dict[str, float], jobs: int = 1,
            unit: str = "unit of cost", announce: str = "") -> tuple[list[dict], list[str]]:
    """Execute (or reuse) every run, ``jobs`` at a time, with progress lines. Runs with the same settings
    (one model serving two parts of a study) train once.

    Returns:
        the results in ``runs`` order (finished runs only) and one error message per failed run.
    """
    digests = {d: ensure_data(d, ctx.data_root(d), ctx.data_root("digits"))
               for d in sorted({r.dataset for r in runs})}
    settings, keys = keyed(ctx, runs, digests)
    unique = list(dict.fromkeys(keys))
    first = {k: keys.index(k) for k in unique}
    planned, how = estimate([runs[first[k]] for k in unique], unique, ctx, default_rates, name)
    todo = sum(planned.values())
    done = sum(cached(ctx, k) is not None for k in unique)
    ctx.log(f"[{name}] {len(unique)} runs, {done} already finished (cache {ctx.cache}); {announce}"
            f"estimated {hms(todo / max(jobs, 1))} for the rest with {jobs} job(s) of {ctx.threads} thread(s): "
            f"{OVERHEAD:.0f} s a run plus its cost times a rate in s per {unit}: {how}")
    start, lock = time.perf_counter(), threading.Lock()
    spent = dict(planned=0.0, actual=0.0, left=todo)  # ETA = seconds left x (actual / planned so far)
    errors: list[str] = []

    def one(n: int) -> None:
        key = unique[n]
        run = runs[first[key]]
        head = f"[{name}] run {n + 1}/{len(unique)} {run.label} (seed {run.seed})"
        if cached(ctx, key):
            ctx.log(f"{head}: cached ({key})")
            return
        redo = " (its cached result is invalid)" if key in ctx.invalid else ""
        ctx.log(f"{head}: training in {ctx.cache / key}{redo}")
        t0, last = time.perf_counter(), [0.0]
        with IN_PROCESS:
            epochs = run.length or resolve_config(ctx, run).train_cfg.get("max_epochs")

        def progress(line: str) -> None:
            m = PROGRESS[0].search(line) or PROGRESS[1].search(line)
            now = time.perf_counter()
            if m and now - last[0] >= 30:
                last[0] = now
                step = f"epoch {m.group(1)}/{epochs}" if m.re is PROGRESS[0] else \
                    f"iteration {m.group(1)}/{m.group(2)}"
                ctx.log(f"{head}: {step}, run {hms(now - t0)}, study {hms(now - start)}")
        try:
            r = execute(ctx, run, key, settings[first[key]], progress, name)
        except Exception as e:  # noqa: BLE001  (one failed run must not stop a long study; it is reported)
            errors.append(f"{run.label} (seed {run.seed}, {key}): {e}")
            ctx.log(f"{head}: FAILED: {e}")
            return
        with lock:
            spent["planned"] += planned[key]
            spent["actual"] += r["seconds"]["total"]
            spent["left"] -= planned[key]
            eta = spent["left"] * spent["actual"] / max(spent["planned"], 1e-9) / max(jobs, 1)
        shown = {k: v for k, v in r["metrics"].items() if isinstance(v, float)}
        ctx.log(f"{head}: " + ", ".join(f"{k} {v:.4g}" for k, v in shown.items())
                + f" in {hms(r['seconds']['total'])}; study {hms(time.perf_counter() - start)}, "
                  f"ETA {hms(eta)}")

    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        list(pool.map(one, range(len(unique))))
    return finished_results(ctx, runs, keys), errors


def finished_results(ctx: Context, runs: list[Run], keys: list[str]) -> list[dict]:
    """The stored results of the finished runs among ``runs`` (``keys`` from :func:`keyed`), in ``runs`` order;
    each with its own run's label and info (runs with the same settings share one stored result)."""
    stored = {k: r for k in dict.fromkeys(keys) if (r := cached(ctx, k)) is not None}
    return [dict(stored[k], label=run.label, info=run.info) for run, k in zip(runs, keys) if k in stored]


def verify(ctx: Context, results: list[dict], count: int, log: Callable[[str], None] = print,
           planned: dict[str, Run] | None = None) -> list[str]:
    """Rerun ``count`` finished runs (spread over ``results``) on the current code, in a scratch cache, and compare
    every metric with the stored one: a run repeats bit for bit on one machine, so a difference means the code now
    computes something else. Each run as ``planned`` defines it (key -> the study's :class:`Run`, e.g. its loss
    keys), else from its stored settings. Returns the differences (empty: all reproduced)."""
    picked = results[:: max(len(results) // max(count, 1), 1)][:count]
    scratch = Context(ctx.root, ctx.cache.parent / (ctx.cache.name + "-verify"), ctx.data_roots, ctx.threads, ctx.log)
    problems = []
    for r in picked:
        run = (planned or {}).get(r["key"]) or Run(
            label=r["label"], config=r["settings"]["config"], overrides=r["settings"]["overrides"], seed=r["seed"],
            length=r["settings"]["length"], similarity=r["settings"]["similarity"],
            processes=r["settings"].get("processes", 1), dataset=r["dataset"], metric=r["metric"],
            extra_metrics=tuple(r.get("extra_metrics", ())))
        again = execute(scratch, run, r["key"], r["settings"], lambda line: None)
        same = again["metrics"] == r["metrics"]
        log(f"[verify] {r['label']} (seed {r['seed']}): {'reproduced' if same else 'DIFFERS'} on code "
            f"{again['code']} (stored: code {r.get('code', '?')})")
        if not same:
            problems.append(f"{r['label']} (seed {r['seed']}): {r['metrics']} then, {again['metrics']} now")
    return problems


def write_runs(out: Path, name: str, mode: str, command: str, results: list[dict], ctx: Context,
               extra: dict | None = None) -> Path:
    """``out/runs.json``: the study, its mode and command, the machine and every run's result."""
    doc = dict(study=name, mode=mode, command=command, machine=machine_info(ctx.threads),
               written=time.strftime("%Y-%m-%d %H:%M:%S"), runs=results, **(extra or {}))
    write_text_atomic(json.dumps(doc, indent=1) + "\n", out / "runs.json")
    return out / "runs.json"


__all__ = ["Context", "Run", "cached", "code_digest", "count_params", "estimate", "execute", "final_train_loss",
           "finished_results", "hms", "keyed", "repo_root", "rescale_schedule", "resolve_config", "run_all", "run_key",
           "verify", "write_runs"]
