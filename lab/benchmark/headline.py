"""The headline comparison: the speed a user gets from a shipped config, against the baseline.

Each model runs alone in a fresh process, as a user's inference process would: ours is the model built
from the preset's shipped ImageNet config (mmpretrain's ``ImageClassifier``), converted as
``tools/test.py --deploy`` converts it (and the same model unconverted, ``plain``); the baseline is timm's
ViT or the reference written from the paper's official code (``lab.reference``). A process builds
its model, warms up, times ``iters`` batches one by one and reports each batch's seconds and minor page
faults, its peak resident memory and the allocator it ran with. Rounds interleave the models (the order
reversed every other round), so a drift of the machine's speed hits all alike; a GEMM probe runs in each
round too. Every child gets the same allocator (``--allocator``; ``backbones.cli.allocator``).

Reported per model: the median batch time over all rounds and the range of the rounds' medians, the
ratio baseline / ours (> 1: ours faster) with the range of the rounds' ratios, plain / ours (the deploy
gain), the median faults per batch and the peak resident MB.
"""
from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from backbones.cli.allocator import active_allocator, child_env
from backbones.cli.machine import cpu_model
from lab.benchmark.isolation import measured

#: compiled: ours through torch.compile (--compile); *-onnx: ours / the baseline exported to ONNX and run by
#: onnxruntime's CPU provider (--onnx)
KINDS = ("ours", "plain", "baseline", "compiled", "ours-onnx", "baseline-onnx")


def shipped_config(preset: str, root: Path) -> Path:
    """The shipped ImageNet config of a preset (the naming scheme of ``configs/README.md``)."""
    hits = sorted((root / "configs/classification/imagenet").glob(f"mixervit_{preset}_*.py"))
    if not hits:
        raise ValueError(f"benchmark: no configs/classification/imagenet/mixervit_{preset}_*.py for {preset!r}")
    return hits[0]


def child(spec: dict) -> dict:
    """In the child process: build one model (or the GEMM probe), warm up, time ``iters`` batches."""
    import torch

    from lab.benchmark.steps import build_step, onnx_step

    torch.set_num_threads(spec["threads"])
    if spec["kind"] == "gemm":
        step, warmup, iters = build_step("", "gemm"), 1, 5
    elif spec["kind"].endswith("-onnx"):
        kind = "deploy" if spec["kind"] == "ours-onnx" else "baseline"
        step = onnx_step(spec["target"], kind, spec["batch"], spec["img"], spec["threads"])
        warmup, iters = spec["warmup"], spec["iters"]
    else:
        kind = "deploy" if spec["kind"] == "ours" else spec["kind"]  # the other kinds share build_step's names
        step = build_step(spec["target"], kind, batch=spec["batch"], img=spec["img"])
        warmup, iters = spec["warmup"], spec["iters"]
    start = time.perf_counter()
    for _ in range(warmup):
        step()
    warm = time.perf_counter() - start
    samples = [measured(step) for _ in range(iters)]
    return dict(seconds=[s for s, _ in samples], faults=[f for _, f in samples], warmup_s=warm,
                peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, allocator=active_allocator())


def run_child(spec: dict, allocator: str) -> dict:
    """One fresh process running :func:`child` with ``allocator``; its report."""
    cmd = [sys.executable, "-m", "lab.benchmark", "--headline-child", json.dumps(spec)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=child_env(allocator))
    if out.returncode:
        raise RuntimeError(f"benchmark: {spec.get('target') or 'gemm'} ({spec['kind']}) failed with exit code "
                           f"{out.returncode}:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def headline(presets: list[str], root: Path, rounds: int = 3, iters: int = 30, batch: int = 16, img: int = 224,
             threads: int = 2, allocator: str = "glibc-tuned", compiled: bool = False, baseline: bool = True,
             onnx: bool = False, log=print) -> dict:  # noqa: ANN001
    """Time ``presets`` (ours, plain, with ``baseline`` the baseline, with ``compiled`` ours compiled, with ``onnx``
    ours and the baseline under onnxruntime) in fresh processes over ``rounds``; returns the figures (``warmup_s``
    of the compiled kind includes its compilation)."""
    from lab.benchmark.steps import GEMM_N, has_baseline

    reports: dict[tuple[str, str], list[dict]] = {}
    gemm: list[float] = []
    for r in range(rounds):
        gemm_report = run_child(dict(kind="gemm", threads=threads), allocator)
        gemm.append(2 * GEMM_N ** 3 / statistics.median(gemm_report["seconds"]) / 1e9)
        for preset in presets:
            wanted = {"baseline": baseline and has_baseline(preset), "compiled": compiled, "ours-onnx": onnx,
                      "baseline-onnx": onnx and baseline and has_baseline(preset)}
            kinds = [k for k in KINDS if wanted.get(k, True)]
            for kind in kinds if r % 2 == 0 else kinds[::-1]:
                target = preset if kind.startswith("baseline") else str(shipped_config(preset, root))
                spec = dict(target=target, kind=kind, batch=batch, img=img, threads=threads, warmup=2, iters=iters)
                rep = run_child(spec, allocator)
                reports.setdefault((preset, kind), []).append(rep)
                log(f"[benchmark] round {r + 1}/{rounds} {preset} {kind}: "
                    f"{1000 * statistics.median(rep['seconds']):.1f} ms median of {iters}, "
                    f"{statistics.median(rep['faults']):,.0f} faults/batch, peak {rep['peak_mb']:.0f} MB")
    allocators = sorted({rep["allocator"] for reps in reports.values() for rep in reps})
    rows = []
    for preset in presets:
        row: dict = dict(model=preset)
        for kind in KINDS:
            reps = reports.get((preset, kind))
            if not reps:
                continue
            medians = [statistics.median(rep["seconds"]) for rep in reps]
            row[kind] = dict(ms=1000 * statistics.median(s for rep in reps for s in rep["seconds"]),
                             ms_range=[1000 * min(medians), 1000 * max(medians)], round_ms=[1000 * m for m in medians],
                             faults=statistics.median(f for rep in reps for f in rep["faults"]),
                             peak_mb=max(rep["peak_mb"] for rep in reps), warmup_s=statistics.median(
                                 rep["warmup_s"] for rep in reps))
        for name, mine, other in (("ratio", "ours", "baseline"), ("deploy_gain", "ours", "plain"),
                                  ("compile_gain", "ours", "compiled"), ("onnx_ratio", "ours-onnx", "baseline-onnx")):
            if other in row and mine in row:
                per_round = [b / a for a, b in zip(row[mine]["round_ms"], row[other]["round_ms"])]
                if name == "compile_gain":  # ours / compiled: > 1 when compiling helps
                    per_round = [1 / r for r in per_round]
                value = row[other]["ms"] / row[mine]["ms"]
                row[name] = dict(value=1 / value if name == "compile_gain" else value,
                                 range=[min(per_round), max(per_round)])
        rows.append(row)
    import torch

    return dict(cpu=cpu_model(), gemm_gflops=gemm, allocator=allocators, torch=torch.__version__, threads=threads,
                batch=batch, img=img, rounds=rounds, iters=iters, rows=rows)


def markdown(result: dict) -> str:
    """The headline figures as a caption line and a markdown table."""
    g = result["gemm_gflops"]
    lines = [f"{result['cpu']}; GEMM {min(g):.0f}-{max(g):.0f} GFLOP/s (2048^3 float32); allocator "
             f"{' / '.join(result['allocator'])}; torch {result['torch']}, {result['threads']} threads, batch "
             f"{result['batch']} at {result['img']} px, float32; each model alone in a fresh process, "
             f"{result['iters']} batches after 2 warm-ups, {result['rounds']} rounds interleaved", "",
             "| model | ours ms (deploy) | plain ms | baseline ms | baseline / ours | plain / ours | "
             "faults/batch ours / plain / baseline | peak MB ours / baseline | compiled ms | ours / compiled | "
             "compile s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def ms(row: dict, kind: str) -> str:
        f = row.get(kind)
        return f"{f['ms']:.0f} [{f['ms_range'][0]:.0f}-{f['ms_range'][1]:.0f}]" if f else ""

    def ratio(row: dict, name: str) -> str:
        f = row.get(name)
        return f"{f['value']:.2f}x [{f['range'][0]:.2f}-{f['range'][1]:.2f}]" if f else ""

    for row in result["rows"]:
        faults = " / ".join(f"{row[k]['faults']:,.0f}" if k in row else "-" for k in KINDS[:3])
        peaks = " / ".join(f"{row[k]['peak_mb']:,.0f}" if k in row else "-" for k in ("ours", "baseline"))
        lines.append(f"| {row['model']} | {ms(row, 'ours')} | {ms(row, 'plain')} | {ms(row, 'baseline')} | "
                     f"{ratio(row, 'ratio')} | {ratio(row, 'deploy_gain')} | {faults} | {peaks} | "
                     f"{ms(row, 'compiled')} | {ratio(row, 'compile_gain')} | "
                     + (f"{row['compiled']['warmup_s']:.0f} |" if "compiled" in row else " |"))
    onnx_rows = [row for row in result["rows"] if "ours-onnx" in row]
    if onnx_rows:  # deployment through onnxruntime: both sides exported the same way
        lines += ["", "| model (onnxruntime, CPU provider) | ours ms | baseline ms | baseline / ours | "
                      "ours eager / ONNX |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {row['model']} | {ms(row, 'ours-onnx')} | {ms(row, 'baseline-onnx')} | "
                  f"{ratio(row, 'onnx_ratio')} | {row['ours']['ms'] / row['ours-onnx']['ms']:.2f}x |"
                  for row in onnx_rows]
    return "\n".join(lines)
