"""Cost against input resolution: a detection backbone's forward time and peak memory at detection sizes.

Each variant is a plain ``MixerViT`` (a preset's width and depth, the chosen mixer) as a detector sees it:
no class token, the last block's stride-16 map out (``out_type='featmap'``), batch 1, inference. The variants
(``VARIANTS``) are global and ViTDet-windowed self-attention and Re-attention (Li et al. 2022: window 14,
global blocks 2, 5, 8, 11 of a 12-block model), External attention and FF-only. Every (variant, size) runs in
a process of its own, so that its peak resident set holds its own weights and activations only:

* ``before_mb``: resident set after the model is built and one warm-up forward ran (freed memory handed back);
* ``peak_mb``: the peak resident set (Linux VmHWM, reset before) over one forward;
* ``ms``: the median forward time over ``rounds`` forwards.

FF-only's token MLP holds ``2 * ratio * N^2`` weights per block (N = (size / 16)^2 tokens); a size whose
token-MLP weights exceed ``FF_LIMIT_GB`` is skipped and the row says so.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable

import torch

VARIANTS: dict[str, dict] = {
    "SelfAttention (global)": dict(mixer="SelfAttention"),
    "SelfAttention (window 14)": dict(mixer="SelfAttention", window_size=14, global_blocks=(2, 5, 8, 11)),
    "ReAttention (global)": dict(mixer="ReAttention"),
    "ReAttention (window 14)": dict(mixer="ReAttention", window_size=14, global_blocks=(2, 5, 8, 11)),
    "ExternalAttention": dict(mixer="ExternalAttention"),
    "FeedForwardMixer": dict(mixer="FeedForwardMixer"),
}
FF_LIMIT_GB = 4.0


def ff_weights_gb(arch: str, size: int, patch: int = 16) -> float:
    """GB of float32 token-MLP weights FF-only holds over all blocks at ``size`` px (``2 * ratio * N^2`` each)."""
    from backbones.models.presets import PRESETS

    n = (size // patch) ** 2
    return 4 * PRESETS[arch]["depth"] * 2 * 4.0 * n * n / 1e9  # FeedForwardMixer's default mlp_ratio 4


def child(spec: dict) -> dict:
    """Build one variant at one size in this (fresh) process and measure it (see the module docstring)."""
    from backbones.models.vit import MixerViT
    from lab.benchmark.isolation import interleaved
    from lab.benchmark.memory import peak_memory_mb, release_free_memory, rss_kb
    from lab.benchmark.steps import step_fn

    torch.manual_seed(0)
    size = spec["size"]
    model = MixerViT(spec["arch"], img_size=size, with_cls_token=False, out_type="featmap", out_indices=-1,
                     **VARIANTS[spec["variant"]])
    fn = step_fn(model, torch.randn(1, 3, size, size), train=False)
    out = fn()[0]
    release_free_memory()
    before = rss_kb("VmRSS") / 1024
    peak = peak_memory_mb(fn)
    seconds = interleaved({"t": fn}, spec["rounds"], warmup=0)["t"].seconds
    return dict(variant=spec["variant"], size=size, tokens=out.shape[-2] * out.shape[-1], ms=seconds * 1000,
                before_mb=before, peak_mb=peak)


def sweep(arch: str, sizes: list[int], variants: list[str], rounds: int, threads: int,
          log: Callable[[str], None] = print) -> list[dict]:
    """:func:`child` for every variant and size, each in a fresh process (``python -m lab.benchmark``)."""
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"error: --variants: unknown {unknown}; known: {sorted(VARIANTS)}")
    rows = []
    for variant in variants:
        for size in sorted(sizes):
            if VARIANTS[variant]["mixer"] == "FeedForwardMixer" and ff_weights_gb(arch, size) > FF_LIMIT_GB:
                gb = ff_weights_gb(arch, size)
                rows.append(dict(variant=variant, size=size, skipped=f"token-MLP weights {gb:.1f} GB > "
                                                                     f"{FF_LIMIT_GB:.0f} GB"))
                log(f"{variant:<26} {size:>5} px  skipped: {rows[-1]['skipped']}")
                continue
            spec = dict(arch=arch, size=size, variant=variant, rounds=rounds)
            cmd = [sys.executable, "-m", "lab.benchmark", "--threads", str(threads), "--resolution-child",
                   json.dumps(spec)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                raise RuntimeError(f"{variant} at {size} px failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            log(f"{variant:<26} {size:>5} px  N={r['tokens']:>5}  {r['ms']:9.1f} ms  peak {r['peak_mb']:7.0f} MB "
                f"(+{r['peak_mb'] - r['before_mb']:.0f} over the built model)")
    return rows


def growth(rows: list[dict]) -> dict[str, float]:
    """Per variant: the exponent k of time ~ N^k between its smallest and largest measured size."""
    out = {}
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == variant and "ms" in r]
        if len(mine) >= 2:
            out[variant] = math.log(mine[-1]["ms"] / mine[0]["ms"]) / math.log(mine[-1]["tokens"] / mine[0]["tokens"])
    return out


def markdown(rows: list[dict], header: str) -> str:
    """The sweep as a table: one row per variant, time and peak memory per size, the growth exponent."""
    sizes = sorted({r["size"] for r in rows})
    k = growth(rows)
    lines = [header, "", "| variant | " + " | ".join(f"ms at {s}" for s in sizes) + " | time ~ N^k | "
             + " | ".join(f"peak MB at {s}" for s in sizes) + " |",
             "|---|" + "---:|" * (2 * len(sizes) + 1)]
    for variant in dict.fromkeys(r["variant"] for r in rows):
        cell = {r["size"]: r for r in rows if r["variant"] == variant}
        ms = [f"{cell[s]['ms']:.0f}" if "ms" in cell.get(s, {}) else "-" for s in sizes]
        mb = [f"{cell[s]['peak_mb']:.0f}" if "ms" in cell.get(s, {}) else "-" for s in sizes]
        exponent = f"{k[variant]:.2f}" if variant in k else "-"
        lines.append(f"| {variant} | " + " | ".join([*ms, exponent, *mb]) + " |")
    skipped = [f"{r['variant']} at {r['size']} px ({r['skipped']})" for r in rows if "skipped" in r]
    if skipped:
        lines += ["", "Skipped: " + "; ".join(skipped) + "."]
    return "\n".join(lines)


def plot(rows: list[dict], path: str) -> None:
    """Time and peak memory against the token count, log-log, one line per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from backbones.analysis.figures import save_figure

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
    k = growth(rows)
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == variant and "ms" in r]
        label = f"{variant} (k = {k[variant]:.2f})" if variant in k else variant
        ax_t.loglog([r["tokens"] for r in mine], [r["ms"] for r in mine], "o-", label=label)
        ax_m.loglog([r["tokens"] for r in mine], [r["peak_mb"] for r in mine], "o-", label=variant)
    ax_t.set(xlabel="tokens N (size / 16 squared)", ylabel="backbone forward ms (batch 1)")
    ax_m.set(xlabel="tokens N", ylabel="peak resident MB")
    ax_t.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
