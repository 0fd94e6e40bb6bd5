"""Command line of the claims study: ``python -m lab.study STUDY [--quick] [--out DIR] ...``.

Studies (one per claim, see docs/claims.md): ``collapse`` (DeepViT) and its follow-up ``reattention-scale``,
``ffonly`` (FF-only), ``external`` (External attention) and ``generation`` (External attention in a GAN). Run
from the repository root.

Each study writes to ``--out`` (default ``work_dirs/study/<study>``, ``work_dirs/study/<study>-quick`` with
``--quick``): ``runs.json`` (every run: settings, seed, metrics, time, machine), ``table.md`` and PNG plots.
Runs are cached in ``--cache`` (default ``work_dirs/runs``, shared by the studies and the task tables) by the hash of
their settings: a rerun reuses every finished run, so an interrupted study resumes. ``--verify N`` reruns N
finished runs on the current code and checks that they repeat their stored metrics bit for bit. ``--quick`` runs fewer
depths / epochs / seeds (at most ~10 minutes per study on 2 cores) and says so in every output; the full
mode prints its estimated time before it starts. ``--plan`` lists the runs and the estimate, and stops.
``--report`` writes the outputs from the runs finished so far (trains and measures nothing; every output says
how many of the study's runs it holds): a long study's results while it is still running. ``--only EXPERIMENT``
keeps one experiment of a study with several (a run's ``info['experiment']``, ``main`` when it names none; e.g.
``generation --only mirrors``): the other experiments' runs are neither trained nor reported.

Every cached result is verified before it is reused (``lab/runs/run_cache.py``): an edited, truncated or
unverifiable result (one written before results carried digests), or a missing or changed checkpoint, is named
with its file and counts as unfinished: a normal run redoes it; ``--report`` leaves it out, lists the invalid runs
with the reason and exits 1. Every report also says how many of its runs were produced on a code digest other than
the current one, and which (the code is not part of a run's key; ``--verify`` checks a sample).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import ModuleType

from backbones.bundled import data_digest
from backbones.utils.machine import machine_info
from lab.runs.run_cache import code_digest, code_note, invalid_note
from lab.runs.runs import Context, Run, estimate, finished_results, hms, keyed, repo_root, run_all, verify, write_runs
from lab.study import collapse, external, ffonly, generation, reattention_scale

STUDIES: dict[str, ModuleType] = {m.NAME: m for m in (collapse, reattention_scale, ffonly, external, generation)}
QUICK_NOTE = ("**QUICK MODE** (`--quick`): fewer depths, epochs, seeds and sizes than the study; it checks that "
              "everything runs and is not evidence for or against the claim.")


def run_study(module: ModuleType, settings: dict, ctx: Context, out: Path, mode: str, command: str,
              jobs: int = 1, plan_only: bool = False, verify_runs: int = 0, report_only: bool = False,
              only: str | None = None) -> int:
    """Run (or reuse) a study's runs and write its outputs; returns the exit code (1 if a run failed or, with
    ``verify_runs``, a rerun on the current code did not reproduce its stored metrics). ``report_only``: write the
    outputs of the runs finished so far, training and measuring nothing (1 if it left out invalid cached results).
    ``only``: the runs of that experiment alone (:func:`only_experiment`)."""
    runs = module.plan(settings)
    if only is not None:
        runs = only_experiment(runs, only, module.NAME)
    if plan_only or report_only:  # data sets are not built here: runs on a data set not built yet are unfinished
        _, keys = keyed(ctx, runs, {r.dataset: data_digest(ctx.data_root(r.dataset)) for r in runs})
        unique = dict(zip(keys, runs))
    if plan_only:
        seconds, how = estimate(list(unique.values()), list(unique), ctx, module.DEFAULT_RATES, module.NAME)
        for key, r in unique.items():
            state = "finished" if key not in seconds else f"~{hms(seconds[key])}"
            ctx.log(f"  {r.label} (seed {r.seed}, length {r.length or 'as configured'}): {state}")
        ctx.log(f"[{module.NAME}] {mode}: {len(unique)} runs, {len(unique) - len(seconds)} finished; the rest about "
                f"{hms(sum(seconds.values()) / jobs)} with {jobs} job(s) of {ctx.threads} thread(s) (rates in s per "
                f"{module.COST_UNIT}: {how})")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if report_only:
        results, errors = finished_results(ctx, runs, keys), []
    else:
        results, errors = run_all(ctx, module.NAME, runs, module.DEFAULT_RATES, jobs, module.COST_UNIT,
                                  announce=f"{mode} mode; ")
    invalid = {k: ctx.invalid[k] for k in unique if k in ctx.invalid} if report_only else {}
    sweep = None
    if hasattr(module, "measure"):  # after the runs: an idle machine
        sweep = module.measure(ctx, settings, cached_only=report_only)
    m = machine_info(ctx.threads)
    seeds = sorted({r["seed"] for r in results})
    done = len({r["key"] for r in results})
    code_line = code_note(results, code_digest(ctx.root), "; `--verify N` reruns N of them on the current code")
    header = [f"- {QUICK_NOTE if mode == 'quick' else '**Full mode.**'}", f"- Command: `{command}`",
              f"- Machine: {m['cpu']} ({m['isa']}), {m['threads']} thread(s) per run, torch {m['torch']}",
              f"- Seeds: {seeds}; {done} runs finished, {len(errors)} failed.",
              f"- {code_line}"]
    if report_only:
        header.insert(1, f"- **PARTIAL** (`--report`): {done} of the study's {len(unique)} runs have finished; the "
                         "tables and plots hold only those" + ("" if sweep is not None or not hasattr(module, "measure")
                                                            else ", without the measurements made after the runs"))
    if invalid:
        header.append(f"- **INVALID** cached results left out ({len(invalid)}; a run without `--report` redoes them): "
                      + "; ".join(invalid.values()))
    args = (results, out, header) + ((sweep,) if sweep is not None else ())
    paths = module.report(*args) if results else []
    extra = {**(dict(sweep=sweep) if sweep is not None else {}), **(dict(invalid=invalid) if invalid else {})}
    paths.insert(0, write_runs(out, module.NAME, mode + (" (partial)" if report_only else ""), command, results, ctx,
                               extra or None))
    ctx.log(f"[{module.NAME}] {mode} mode done in {hms(time.perf_counter() - started)}; outputs:\n  "
            + "\n  ".join(map(str, paths)))
    ctx.log(f"[{module.NAME}] {code_line}")
    for e in errors:
        ctx.log(f"[{module.NAME}] failed: {e}")
    if invalid:
        ctx.log(f"[{module.NAME}] --report refused {len(invalid)} invalid cached result(s), left out of the outputs "
                f"(a run without --report redoes them):" + invalid_note(invalid))
    if verify_runs:
        _, keys = keyed(ctx, runs, {r.dataset: data_digest(ctx.data_root(r.dataset)) for r in runs})
        differences = verify(ctx, results, verify_runs, ctx.log, dict(zip(keys, runs)))
        ctx.log(f"[{module.NAME}] verify: {verify_runs - len(differences)} of {verify_runs} reruns on the current code "
                f"reproduced their stored metrics" + "".join(f"\n  {d}" for d in differences))
        errors += differences
    return 1 if errors or invalid else 0


def experiment_of(run: Run) -> str:
    """The experiment a planned run belongs to: its ``info['experiment']``, ``main`` when it names none."""
    return str(run.info.get("experiment", "main"))


def only_experiment(runs: list[Run], name: str, study: str) -> list[Run]:
    """The runs of experiment ``name``; a name no run has is an error naming the study's experiments."""
    kept = [r for r in runs if experiment_of(r) == name]
    if not kept:
        names = sorted({experiment_of(r) for r in runs})
        raise SystemExit(f"error: --only {name!r}: study {study!r} has no such experiment; valid: {names}")
    return kept


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m lab.study", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study", choices=list(STUDIES))
    parser.add_argument("--quick", action="store_true", help="a short version of the study (~10 min on 2 cores)")
    parser.add_argument("--out", default=None, help="output folder (default work_dirs/study/<study>[-quick])")
    parser.add_argument("--cache", default="work_dirs/runs", help="run cache (shared with the task tables)")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at the same time")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per training process")
    parser.add_argument("--plan", action="store_true", help="list the runs and the time estimate, then stop")
    parser.add_argument("--report", action="store_true",
                        help="write the outputs from the runs finished so far; train and measure nothing")
    parser.add_argument("--verify", type=int, default=0, metavar="N",
                        help="after the study, rerun N of its finished runs on the current code and compare metrics")
    parser.add_argument("--only", default=None, metavar="EXPERIMENT",
                        help="run and report one experiment of the study (e.g. generation: main, mirrors)")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.threads < 1:
        parser.error(f"--jobs and --threads must be at least 1, got {args.jobs} and {args.threads}")
    root = repo_root()
    module = STUDIES[args.study]
    mode = "quick" if args.quick else "full"
    out = Path(args.out or f"work_dirs/study/{args.study}{'-quick' if args.quick else ''}")
    ctx = Context(root=root, cache=Path(args.cache).resolve(), threads=args.threads,
                  log=lambda s: print(s, flush=True))
    command = " ".join(["python -m lab.study", *(argv if argv is not None else sys.argv[1:])])
    settings = module.QUICK if args.quick else module.FULL
    return run_study(module, settings, ctx, out, mode, command, args.jobs, args.plan, args.verify, args.report,
                     args.only)
