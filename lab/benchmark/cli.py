"""Measure the zoo: throughput, latency, peak memory, FLOPs and the fraction of this machine's GEMM roofline.

Usage:
    python lab/tools/benchmark.py PRESET_OR_CONFIG [...] [--batch 16] [--img 224] [--threads 2]
        [--train] [--compare] [--compile] [--rounds 5] [--json out.json] [--markdown out.md]
    python lab/tools/benchmark.py --sweep-tokens [--dim 192] [--heads 3] [--mixers ...] [--plot sweep.png]
    python lab/tools/benchmark.py PRESET --train-memory --batch 32   (training-step memory, with_cp off / on)
    python lab/tools/benchmark.py [PRESET] --resolutions 512 768 1024 [--variants ...] [--plot res.png]
    python lab/tools/time_step.py PRESET_OR_CONFIG [--kind ...] [--profile]   (one model alone: median, profile)

* The float32 GEMM rate of this machine is measured in the same rounds as the models, as one more
  interleaved step (a 2048^3 matmul; ``gemm_gflops``, median), since a shared machine's speed drifts;
  FLOPs of the forward (counted by ``torch.utils.flop_counter``) divided by that rate is the time
  floor, and ``roofline %`` = floor / measured time (median over median).
* Our inference is timed in its deploy form (``backbones.deploy.convert_to_deploy``, converted once
  before timing) and as the plain model, interleaved: ``deploy_gain`` = plain time / deploy time.
* ``--compare`` times the same model in its baseline form in the same run, interleaved round by round:
  timm's ViT for self-attention presets, and for FF-only, DeepViT and EAMLP the straightforward
  implementations of the official code (``lab.reference``, the source models of the parity
  tests). ``ratio`` = baseline time / our time (> 1: we are faster).
* Each timed model runs in a worker process of its own (``isolation.py``: in one shared process a model's
  speed depends on the allocator state the others left); ``--shared-process`` times them all in this
  process instead. ``faults``: minor page faults per inference batch (memory glibc returned to the
  kernel and took back, which the kernel maps and zeroes again on first touch).
* ``--train`` adds the training step of the plain model (forward, cross-entropy, backward, AdamW);
  ``train_roofline`` is the FLOPs of its forward and backward over the GEMM rate, divided by the step time.
* ``--compile`` also times the deploy form through ``torch.compile`` (compiled once, before timing) and
  gives its roofline (``compiled_roofline``: the deploy form's FLOPs over the GEMM rate and its time).
* ``--resolutions`` times a detection backbone (the preset, default deit-small, with each mixer, global and
  windowed; ``resolution.py``) against the input size, each (variant, size) in a fresh process.
* ``--sweep-tokens`` times one layer of each mixer against the token count N and fits the exponent of
  time ~ N^k on the largest sizes (EA should be ~1, self-attention approaching 2).
Peak memory is the peak resident set of a new process that builds the model, converts it and runs one
inference batch (weights included), so that earlier measurements do not leak into it; the token sweep
runs each mixer in a process of its own, sizes ascending. Every table names the CPU and the GEMM rate.
"""
from __future__ import annotations

import argparse
import json
import math
import sys

import torch

from backbones.utils.allocator import ALLOCATORS, RUN_SETUP, child_env
from backbones.utils.files import write_text_atomic
from backbones.utils.machine import cpu_model
from lab.benchmark import resolution
from lab.benchmark.headline import child as headline_child
from lab.benchmark.headline import headline
from lab.benchmark.headline import markdown as headline_markdown
from lab.benchmark.isolation import Figures, interleaved, interleaved_workers, serve
from lab.benchmark.memory import measure_step, peak_memory_mb, train_memory_report
from lab.benchmark.steps import (
    add_step_args,
    build_ours,
    build_step,
    count_flops,
    count_train_flops,
    gemm_rate,
    gemm_step,
    has_baseline,
    step_fn,
)


def peak_in_fresh_process(target: str, args: argparse.Namespace) -> float:
    """Peak resident MB of one inference of ``target`` in a new process (nothing else allocated there)."""
    import subprocess

    cmd = [sys.executable, "-m", "lab.benchmark", target, "--peak-only", "--batch", str(args.batch), "--img",
           str(args.img), "--threads", str(args.threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         env=child_env(args.allocator)).stdout.strip().splitlines()
    return float(out[-1])


def time_runs(target: str, runs: dict[str, dict], args: argparse.Namespace, rounds: int,
              warmup: int = 2) -> dict[str, Figures]:
    """Median seconds and page faults of each run (keyword arguments of :func:`build_step`), interleaved
    round by round, each in a worker process of its own unless ``args.shared_process``."""
    full = {k: {"batch": args.batch, "img": args.img, **r} for k, r in runs.items()}
    if args.shared_process:
        return interleaved({k: build_step(target, **r) for k, r in full.items()}, rounds, warmup)
    cmds = {k: [sys.executable, "-m", "lab.benchmark", target, "--worker", json.dumps(r), "--warmup", str(warmup),
                "--threads", str(args.threads)] for k, r in full.items()}
    return interleaved_workers(cmds, rounds, child_env(args.allocator))


def measure(target: str, args: argparse.Namespace) -> dict:
    """All figures of one preset or config (inference: the deploy form; training: the plain model)."""
    from backbones.deploy.convert import convert_to_deploy

    torch.manual_seed(0)
    ours = build_ours(target, args.img)
    x = torch.randn(args.batch, 3, args.img, args.img)
    row = dict(model=target, params=sum(p.numel() for p in ours.parameters()))
    train_flops = count_train_flops(ours, x) if args.train else 0
    row["gflops"] = count_flops(convert_to_deploy(ours), x) / 1e9
    del ours
    row["peak_mb"] = peak_in_fresh_process(target, args)
    runs = {"ours": dict(kind="deploy"), "plain": dict(kind="plain")}
    if args.compile:
        runs["compiled"] = dict(kind="compiled")
    base = args.compare and has_baseline(target)
    if base:
        runs["baseline"] = dict(kind="baseline")
    runs["gemm"] = dict(kind="gemm")
    t = time_runs(target, runs, args, args.rounds)
    rate = gemm_rate(t["gemm"])
    row["gemm_gflops"] = rate / 1e9
    ours_s = t["ours"].seconds
    row.update(infer_img_s=args.batch / ours_s, roofline=row["gflops"] * 1e9 / rate / ours_s, faults=t["ours"].faults,
               plain_img_s=args.batch / t["plain"].seconds, deploy_gain=t["plain"].seconds / ours_s)
    if args.compile:
        row.update(compiled_img_s=args.batch / t["compiled"].seconds,
                   compiled_roofline=row["gflops"] * 1e9 / rate / t["compiled"].seconds)
    row["latency_ms"] = 1000 * time_runs(target, {"b1": dict(batch=1)}, args, args.rounds)["b1"].seconds
    if base:
        row.update(baseline_img_s=args.batch / t["baseline"].seconds, baseline_faults=t["baseline"].faults,
                   infer_ratio=t["baseline"].seconds / ours_s)
    if args.train:
        truns = {"ours": dict(kind="plain", train=True), "gemm": dict(kind="gemm")}
        if base:
            truns["baseline"] = dict(kind="baseline", train=True)
        tt = time_runs(target, truns, args, args.rounds, warmup=1)
        row["train_img_s"] = args.batch / tt["ours"].seconds
        row["train_roofline"] = train_flops / gemm_rate(tt["gemm"]) / tt["ours"].seconds
        if base:
            row["train_ratio"] = tt["baseline"].seconds / tt["ours"].seconds
    return row


COLUMNS = [("model", "{}"), ("params", "{:,}"), ("gflops", "{:.2f}"), ("gemm_gflops", "{:.0f}"),
           ("infer_img_s", "{:.1f}"), ("latency_ms", "{:.1f}"), ("peak_mb", "{:.0f}"), ("roofline", "{:.0%}"),
           ("plain_img_s", "{:.1f}"), ("deploy_gain", "{:.2f}x"), ("compiled_img_s", "{:.1f}"),
           ("compiled_roofline", "{:.0%}"),
           ("faults", "{:,.0f}"), ("baseline_img_s", "{:.1f}"),
           ("baseline_faults", "{:,.0f}"), ("infer_ratio", "{:.2f}x"), ("train_img_s", "{:.1f}"),
           ("train_roofline", "{:.0%}"), ("train_ratio", "{:.2f}x")]


def markdown(rows: list[dict], header: str) -> str:
    """The result rows as a markdown table (columns present in any row)."""
    cols = [(k, f) for k, f in COLUMNS if any(k in r for r in rows)]
    lines = [header, "", "| " + " | ".join(k for k, _ in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(f.format(r[k]) if k in r else "" for k, f in cols) + " |")
    return "\n".join(lines)


def sweep_mixer(name: str, args: argparse.Namespace) -> list[dict]:
    """Time and peak resident memory of one mixer layer at each N of ``args.tokens``, ascending.

    Run in a process of its own (see :func:`sweep_tokens`): the peak at N then covers the weights and
    the largest activations of that N, not what earlier mixers left in the heap.
    """
    from backbones.models.mixers import build_mixer

    rows = []
    for n in sorted(args.tokens):
        if name == "FeedForwardMixer" and n > 4096:
            continue  # its weights grow as 4 N^2
        torch.manual_seed(0)
        layer = build_mixer(name, dim=args.dim, num_heads=args.heads, num_tokens=n, grid_size=None).eval()
        fn = step_fn(layer, torch.randn(1, n, args.dim), False)
        sec = interleaved({"t": fn}, args.rounds, warmup=1)["t"].seconds
        rows.append(dict(mixer=name, tokens=n, ms=sec * 1000, peak_mb=peak_memory_mb(fn)))
    return rows


def sweep_tokens(args: argparse.Namespace) -> list[dict]:
    """Time and peak memory of one layer of each mixer against N (one process per mixer); fitted
    exponents; optional plot."""
    import subprocess

    from backbones.models.mixers import MIXERS

    names = sorted(args.mixers or MIXERS)
    unknown = sorted(set(names) - set(MIXERS))
    if unknown:
        raise SystemExit(f"error: --mixers: unknown mixers {unknown}; registered: {sorted(MIXERS)}")
    rows = []
    for name in names:
        cmd = [sys.executable, "-m", "lab.benchmark", "--sweep-one", name, "--tokens", *map(str, args.tokens),
               "--dim", str(args.dim), "--heads", str(args.heads), "--rounds", str(args.rounds), "--threads",
               str(args.threads)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(f"token sweep of {name} failed (exit {out.returncode}):\n{out.stderr[-2000:]}")
        rows.extend(json.loads(out.stdout.strip().splitlines()[-1]))
    for name in names:
        pts = [(math.log(r["tokens"]), math.log(r["ms"])) for r in rows if r["mixer"] == name][-3:]
        k = (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])
        print(f"{name:<20} time ~ N^{k:.2f} (largest three sizes)")
        for r in rows:
            if r["mixer"] == name:
                r["exponent"] = k
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for name in names:
            mine = [r for r in rows if r["mixer"] == name]
            ax.loglog([r["tokens"] for r in mine], [r["ms"] for r in mine], "o-",
                      label=f"{name} (k = {mine[0]['exponent']:.2f})")
        ax.set_xlabel("tokens N")
        ax.set_ylabel("forward ms (1 layer, batch 1)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=100)
        print(f"plot: {args.plot}")
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="lab/tools/benchmark.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", help="preset names or config files")
    add_step_args(parser)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--train", action="store_true", help="also time a training step")
    parser.add_argument("--compare", action="store_true", help="also time the family's baseline, interleaved")
    parser.add_argument("--compile", action="store_true", help="time our model through torch.compile (inference)")
    parser.add_argument("--sweep-tokens", action="store_true")
    parser.add_argument("--headline", action="store_true",
                        help="the shipped configs' models (ours, plain) and the baselines, each alone in a fresh "
                             "process, rounds interleaved (headline.py)")
    parser.add_argument("--iters", type=int, default=30, help="--headline: timed batches per process")
    parser.add_argument("--onnx", action="store_true",
                        help="--headline: also ours and the baseline exported to ONNX, run by onnxruntime (CPU)")
    parser.add_argument("--precisions", nargs="+", default=[], choices=("bf16", "int8"),
                        help="--headline: also ours converted in these precisions (with --onnx, int8 ONNX too)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="--headline: ours and plain only (the deploy >= plain check over many presets)")
    parser.add_argument("--allocator", choices=ALLOCATORS, default=RUN_SETUP,
                        help=f"allocator of every model's process, ours and the baselines' alike "
                             f"(backbones/utils/allocator.py; default {RUN_SETUP})")
    parser.add_argument("--headline-child", default=None, help=argparse.SUPPRESS)  # JSON spec of one process
    parser.add_argument("--shared-process", action="store_true",
                        help="time every model in this process instead of one worker process each")
    parser.add_argument("--train-memory", action="store_true", help="training-step peak memory, with_cp off / on")
    parser.add_argument("--peak-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--train-memory-child", choices=["0", "1"], default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # JSON build_step arguments
    parser.add_argument("--warmup", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--sweep-one", default=None, help=argparse.SUPPRESS)  # one mixer, in a child process
    parser.add_argument("--tokens", type=int, nargs="+", default=[196, 400, 784, 1600, 2500, 4096, 6400])
    parser.add_argument("--mixers", nargs="+", default=None, help="--sweep-tokens: these mixers (default: all)")
    parser.add_argument("--resolutions", type=int, nargs="+", default=None,
                        help="detection backbone cost at these input sizes (px), batch 1, fresh processes")
    parser.add_argument("--variants", nargs="+", default=None, help="--resolutions: these variants (default: all)")
    parser.add_argument("--resolution-child", default=None, help=argparse.SUPPRESS)  # JSON spec of one point
    parser.add_argument("--dim", type=int, default=192)
    parser.add_argument("--heads", type=int, default=3)
    parser.add_argument("--plot", default=None)
    parser.add_argument("--json", default=None)
    parser.add_argument("--markdown", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.headline_child:  # used by headline.run_child
        print(json.dumps(headline_child(json.loads(args.headline_child))))
        return 0
    if args.headline:
        if not args.targets:
            parser.error("--headline: give presets, e.g. vit-tiny ff-tiny deepvit-16b eamlp-7")
        from lab.runs.runs import repo_root

        result = headline(args.targets, repo_root(), args.rounds, args.iters, args.batch, args.img, args.threads,
                          args.allocator, compiled=args.compile,
                          baseline=not args.no_baseline, onnx=args.onnx, precisions=tuple(args.precisions),
                          log=lambda s: print(s, flush=True))
        write_outputs(args, headline_markdown(result), result)
        return 0
    if args.train_memory_child is not None:  # used by train_memory_in_fresh_process
        print(json.dumps(measure_step(args.targets[0], args.batch, args.img, args.train_memory_child == "1")))
        return 0
    if args.train_memory:  # each setting in a fresh process of its own
        train_memory_report((args.targets or ["deit-small"])[0], args.batch, args.img, args.threads)
        return 0
    if args.peak_only:  # used by peak_in_fresh_process
        step = build_step(args.targets[0], "deploy", batch=args.batch, img=args.img)
        print(peak_memory_mb(step))
        return 0
    if args.worker:  # used by time_runs
        serve(build_step(args.targets[0], **json.loads(args.worker)), args.warmup)
        return 0
    if args.resolution_child:  # used by resolution.sweep
        print(json.dumps(resolution.child(json.loads(args.resolution_child))))
        return 0
    if args.resolutions:
        resolution_report(args)
        return 0
    if args.sweep_one:  # used by sweep_tokens
        print(json.dumps(sweep_mixer(args.sweep_one, args)))
        return 0
    if args.sweep_tokens:
        rows = sweep_tokens(args)
        rate = gemm_rate(interleaved({"gemm": gemm_step()}, args.rounds, warmup=1)["gemm"])
        print(f"{cpu_model()}, GEMM rate {rate / 1e9:.0f} GFLOP/s, {args.threads} threads")
        for r in rows:
            print(f"{r['mixer']:<20} N={r['tokens']:>5}  {r['ms']:9.2f} ms  peak {r['peak_mb']:7.1f} MB")
    else:
        if not args.targets:
            parser.error("give presets or configs (or --sweep-tokens)")
        rows = [measure(t, args) for t in args.targets]
        where = "all models in one shared process" if args.shared_process else "each model in a process of its own"
        gemm = ", ".join(f"{r['gemm_gflops']:.0f}" for r in rows)
        text = markdown(rows, f"{cpu_model()}, GEMM rate {gemm} GFLOP/s (2048^3 float32 probe, per model); "
                              f"batch {args.batch}, {args.img} px, {args.threads} threads, float32, {where}, "
                              f"allocator {args.allocator} (backbones/utils/allocator.py)")
        write_outputs(args, text, rows)
        return 0
    if args.json:
        write_text_atomic(json.dumps(rows, indent=2) + "\n", args.json)
    return 0


def resolution_report(args: argparse.Namespace) -> list[dict]:
    """``--resolutions``: the sweep (resolution.py), its table with the machine's name and GEMM rate, the plot."""
    arch = (args.targets or ["deit-small"])[0]
    rows = resolution.sweep(arch, args.resolutions, args.variants or list(resolution.VARIANTS), args.rounds,
                            args.threads, log=lambda s: print(s, flush=True))
    rate = gemm_rate(interleaved({"gemm": gemm_step()}, args.rounds, warmup=1)["gemm"])
    header = (f"{cpu_model()}, GEMM rate {rate / 1e9:.0f} GFLOP/s (2048^3 float32 probe), {args.threads} threads, "
              f"torch {torch.__version__}; {arch} backbone (no class token, stride-16 map), batch 1, float32, "
              f"inference; median of {args.rounds} forwards; each point in a fresh process")
    write_outputs(args, resolution.markdown(rows, header), rows)
    if args.plot:
        resolution.plot(rows, args.plot)
        print(f"plot: {args.plot}")
    return rows


def write_outputs(args: argparse.Namespace, text: str, data: object) -> None:
    """Print the markdown ``text``; write it to ``--markdown`` and ``data`` to ``--json`` (atomically)."""
    print(text)
    if args.markdown:
        write_text_atomic(text + "\n", args.markdown)
    if args.json:
        write_text_atomic(json.dumps(data, indent=2) + "\n", args.json)
