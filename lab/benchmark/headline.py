"""The headline comparison: the speed a user gets from a shipped config, against the baseline.

Each model runs alone in a fresh process, as a user's inference process would: ours is the model built
from the preset's shipped ImageNet config (mmpretrain's ``ImageClassifier``), converted as
``tools/test.py --deploy`` converts it (and the same model unconverted, ``plain``); the baseline is timm's
ViT or the reference written from the paper's official code (``lab.reference``). A process builds
its model, warms up, times ``iters`` batches one by one and reports each batch's seconds and minor page
faults, its peak resident memory and the allocator it ran with. Rounds interleave the models (the order
reversed every other round), so a drift of the machine's speed hits all alike; a GEMM probe runs in each
round too. Every child gets the same allocator (``--allocator``; ``backbones.utils.allocator``).

Reported per model: the median batch time over all rounds and the range of the rounds' medians, the
ratio baseline / ours (> 1: ours faster) with the range of the rounds' ratios, plain / ours (the deploy
gain), the median faults per batch and the peak resident MB. With ``precisions`` (``bf16``, ``int8``): ours
converted in that precision too (``convert_to_deploy(model, precision)``; int8 with ``onnx``: the int8 ONNX file as
well), its speed-up over float32 ours and over the baseline (the anchor), and its share of that precision's GEMM
rate (probed each round like float32's; the model's FLOPs counted once on the plain model).
"""
from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from backbones.utils.allocator import active_allocator, child_env
from backbones.utils.machine import cpu_flags, cpu_model
from lab.benchmark.isolation import measured

#: compiled: ours through torch.compile (--compile); *-onnx: ours / the baseline exported to ONNX and run by
#: onnxruntime's CPU provider (--onnx); ours-bf16 / ours-int8: ours in that precision (--precisions)
KINDS = ("ours", "plain", "baseline", "compiled", "ours-onnx", "baseline-onnx", "ours-bf16", "ours-int8",
         "ours-int8-onnx")
#: the reduced-precision kinds and their precision
PRECISION_KINDS = {"ours-bf16": "bf16", "ours-int8": "int8", "ours-int8-onnx": "int8"}


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
    precision = PRECISION_KINDS.get(spec["kind"], spec.get("precision", "fp32"))
    if spec["kind"] == "gemm" and precision != "fp32":  # the dynamically quantized Linear / bf16 matmul probe
        from backbones.apis.timing import gemm_gflops

        rate, n = gemm_gflops(precision=precision)
        return dict(rate=rate, n=n)
    if spec["kind"] == "gemm":
        step, warmup, iters = build_step("", "gemm"), 1, 5
    elif spec["kind"].endswith("-onnx"):
        kind = "baseline" if spec["kind"] == "baseline-onnx" else "deploy"
        step = onnx_step(spec["target"], kind, spec["batch"], spec["img"], spec["threads"], int8=precision == "int8")
        warmup, iters = spec["warmup"], spec["iters"]
    else:
        kind = "deploy" if spec["kind"].startswith("ours") else spec["kind"]  # the others share build_step's names
        step = build_step(spec["target"], kind, batch=spec["batch"], img=spec["img"], precision=precision)
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
             onnx: bool = False, precisions: tuple[str, ...] = (), log=print) -> dict:  # noqa: ANN001
    """Time ``presets`` (ours, plain, with ``baseline`` the baseline, with ``compiled`` ours compiled, with ``onnx``
    ours and the baseline under onnxruntime, ours in each of ``precisions``) in fresh processes over ``rounds``;
    returns the figures (``warmup_s`` of the compiled kind includes its compilation)."""
    from lab.benchmark.steps import GEMM_N, has_baseline

    reports: dict[tuple[str, str], list[dict]] = {}
    gemm: list[float] = []
    rates: dict[str, list[float]] = {p: [] for p in precisions if p != "fp32"}
    for r in range(rounds):
        gemm_report = run_child(dict(kind="gemm", threads=threads), allocator)
        gemm.append(2 * GEMM_N ** 3 / statistics.median(gemm_report["seconds"]) / 1e9)
        for p in rates:
            rates[p].append(run_child(dict(kind="gemm", precision=p, threads=threads), allocator)["rate"])
        for preset in presets:
            wanted = {"baseline": baseline and has_baseline(preset), "compiled": compiled, "ours-onnx": onnx,
                      "baseline-onnx": onnx and baseline and has_baseline(preset), "ours-bf16": "bf16" in precisions,
                      "ours-int8": "int8" in precisions, "ours-int8-onnx": onnx and "int8" in precisions}
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
        if rates:  # the plain model's FLOPs: the share of each precision's GEMM rate
            row["gflop"] = preset_flops(shipped_config(preset, root), img) / 1e9
        for name, mine, other in (("ratio", "ours", "baseline"), ("deploy_gain", "ours", "plain"),
                                  ("compile_gain", "ours", "compiled"), ("onnx_ratio", "ours-onnx", "baseline-onnx"),
                                  ("bf16_gain", "ours-bf16", "ours"), ("bf16_anchor", "ours-bf16", "baseline"),
                                  ("int8_gain", "ours-int8", "ours"), ("int8_anchor", "ours-int8", "baseline"),
                                  ("int8_onnx_gain", "ours-int8-onnx", "ours-onnx")):
            if other in row and mine in row:
                per_round = [b / a for a, b in zip(row[mine]["round_ms"], row[other]["round_ms"])]
                if name == "compile_gain":  # ours / compiled: > 1 when compiling helps
                    per_round = [1 / r for r in per_round]
                value = row[other]["ms"] / row[mine]["ms"]
                row[name] = dict(value=1 / value if name == "compile_gain" else value,
                                 range=[min(per_round), max(per_round)])
        rows.append(row)
    import torch

    return dict(cpu=cpu_model(), flags=cpu_flags(), gemm_gflops=gemm, precision_gemm=rates, allocator=allocators,
                torch=torch.__version__, threads=threads, batch=batch, img=img, rounds=rounds, iters=iters, rows=rows)


def preset_flops(config: Path, img: int) -> float:
    """FLOPs of one image of the config's plain model (batch 1; the rates scale it by the batch)."""
    import torch

    from lab.benchmark.steps import build_ours, count_flops

    torch.manual_seed(0)
    return count_flops(build_ours(str(config), img).eval(), torch.randn(1, 3, img, img))


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
    if result.get("precision_gemm"):
        lines += ["", precision_markdown(result, ms, ratio)]
    return "\n".join(lines)


def precision_markdown(result: dict, ms, ratio) -> str:  # noqa: ANN001
    """The reduced-precision table: each precision's time, its speed-up over float32 ours and over the baseline,
    and its share of that precision's GEMM rate (with the CPU flags that decide it)."""
    flags = " ".join(result.get("flags") or []) or "-"
    probes = ", ".join(f"{p} {min(v):.3g}-{max(v):.3g}" for p, v in result["precision_gemm"].items())
    lines = [f"Reduced precision; CPU flags: {flags}; GEMM rates: fp32 {min(result['gemm_gflops']):.3g}-"
             f"{max(result['gemm_gflops']):.3g} GFLOP/s, {probes} (G(FL)OP/s; int8: the dynamically quantized "
             f"Linear)", "",
             "| model | ours fp32 ms | precision | ms | fp32 / it | baseline / it | share of its GEMM rate |",
             "|---|---:|---|---:|---:|---:|---:|"]
    batch = result["batch"]
    for row in result["rows"]:
        for kind, p in PRECISION_KINDS.items():
            if kind not in row:
                continue
            onnx = kind.endswith("-onnx")
            gain = ratio(row, "int8_onnx_gain" if onnx else f"{p}_gain")
            share = ""
            if not onnx and "gflop" in row:
                rate = statistics.median(result["precision_gemm"][p])
                share = f"{row['gflop'] * batch / (row[kind]['ms'] / 1000) / rate:.0%}"
            lines.append(f"| {row['model']} | {ms(row, 'ours-onnx' if onnx else 'ours')} | {p}"
                         f"{' ONNX (vs fp32 ONNX)' if onnx else ''} | {ms(row, kind)} | {gain} | "
                         f"{'' if onnx else ratio(row, f'{p}_anchor')} | {share} |")
    return "\n".join(lines)
