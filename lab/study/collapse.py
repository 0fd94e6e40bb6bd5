"""Claim 1 - DeepViT (Zhou et al. 2021, "DeepViT: Towards Deeper Vision Transformer", arXiv 2103.11886).

The claim: a ViT's accuracy saturates as blocks are added because the attention maps of deeper blocks
become nearly the same ("attention collapse": Fig. 3(a) plots the similarity of block p to block p + k
against p for a 32-block ViT, over 90% after the 17th block; Fig. 3(b) the share of "similar blocks"
growing with depth), and Re-attention, which mixes the heads' maps with a learned H x H matrix, removes
the collapse and keeps improving with depth (the official repository's ImageNet top-1: DeepViT-24B 79.99,
DeepViT-32B 80.90, while the paper's plain ViTs saturate past 24 blocks).

The experiment: self-attention and Re-attention on digits (32 px, patch 4: 64 tokens + class token) at
depths 4, 8, 16 and 32, same width, heads, patch and recipe (the digits schedule: AdamW 2e-3, cosine,
40 epochs). Both mixers train with the zoo's ``PreciseBNStatsHook`` (Re-attention's BatchNorm over heads
needs recomputed statistics for evaluation, docs/findings.md; self-attention has no BatchNorm, so the hook
does nothing there): one recipe for both. Per run: val top-1, final train loss, and DeepViT's measures
on 64 val images (``backbones.analysis.attention``: cross-block similarity, similar blocks above 0.9, cross-head
similarity).
"""
from __future__ import annotations

import statistics
from pathlib import Path

from lab.runs.report import figure, fmt_spread, group, markdown_table, save_png, values
from lab.runs.runs import Run

NAME = "collapse"
CONFIG = "configs/classification/digits/mixervit_selfattention-p4-w96-d4_1xb64-40e_digits-32px.py"
MIXERS = ("SelfAttention", "ReAttention")
#: full mode: the issue's depths, 3 seeds up to 16 blocks, one 32-block model per mixer
FULL = dict(depths=(4, 8, 16, 32), seeds=(0, 1, 2), deep_seeds=(0,), deep=32, epochs=40, width=48, heads=4)
#: quick mode: two depths, one seed, a few epochs (a check that everything runs, not the study's figures)
QUICK = dict(depths=(4, 16), seeds=(0,), deep_seeds=(0,), deep=32, epochs=4, width=48, heads=4)
#: seconds per block-epoch at width 48 (1 thread, digits; AMD EPYC, quick runs of this study)
COST_UNIT = "block-epoch at width 48"
DEFAULT_RATES = {"SelfAttention": 0.85, "ReAttention": 0.95}


def plan(s: dict) -> list[Run]:
    """The runs of the study for settings ``s`` (:data:`FULL`, :data:`QUICK` or a test's)."""
    runs = []
    w, epochs = s["width"], s["epochs"]
    for mixer in MIXERS:
        for depth in s["depths"]:
            overrides = {"model.backbone.mixer": mixer, "model.backbone.arch.depth": depth,
                         "model.backbone.arch.embed_dims": w, "model.backbone.arch.num_heads": s["heads"],
                         "model.head.in_channels": w,
                         "custom_hooks": [dict(type="PreciseBNStatsHook", num_samples=1024, interval=epochs)],
                         **s.get("extra", {}).get("digits", {})}
            for seed in s["seeds"] if depth < s["deep"] else s["deep_seeds"]:
                runs.append(Run(label=f"{mixer} d{depth}", config=CONFIG, overrides=overrides, seed=seed,
                                length=epochs, similarity=True, cost=depth * epochs * (w / 48) ** 2, rate_key=mixer,
                                info=dict(mixer=mixer, depth=depth, width=w)))
    return runs


def _sim(r: dict) -> dict:
    return r["metrics"]["similarity"]


def _raw(r: dict) -> dict:
    """The figures of the softmax maps: Re-attention's before its transform, self-attention's own maps."""
    return _sim(r).get("before_transform", _sim(r))


def report(results: list[dict], out: Path, header: list[str]) -> list[Path]:
    """``table.md`` and the plots ``depth.png`` (top-1 and similar blocks vs depth) and ``offsets.png``
    (similarity of block p to p + k vs p for the deepest models, the paper's Fig. 3(a))."""
    from lab.runs.report import write_table

    rows, by = [], group(results, "mixer", "depth")
    for (mixer, depth), runs in by.items():
        adj = [sum(_sim(r)["adjacent"]) / max(len(_sim(r)["adjacent"]), 1) for r in runs]
        rows.append([mixer, depth, f"{runs[0]['params']:,}", len(runs),
                     fmt_spread(values(runs, lambda r: r["metrics"]["accuracy/top1"])),
                     fmt_spread(values(runs, lambda r: r["metrics"]["train_loss"]), 3),
                     fmt_spread(values(runs, lambda r: _sim(r)["similar_blocks"]), 0) + f" of {depth - 1}",
                     fmt_spread(values(runs, lambda r: _raw(r)["similar_blocks"]), 0) + f" of {depth - 1}",
                     fmt_spread(adj, 3),
                     fmt_spread(values(runs, lambda r: max(_sim(r)["adjacent"], default=None)), 3),
                     fmt_spread([sum(_sim(r)["head_similarity"]) / depth for r in runs], 3),
                     f"{sum(r['seconds']['total'] for r in runs) / len(runs) / 60:.1f}"])
    table = markdown_table(["mixer", "depth", "params", "seeds", "val top-1 (%)", "final train loss",
                            "similar blocks (> 0.9)", "same, softmax maps", "mean similarity to next block",
                            "max similarity to next", "cross-head similarity", "minutes per run"], rows)
    note = ("Each cell: median [min-max] over the seeds. Similarities: DeepViT's Eq. 3 (cosine of the attention "
            "maps' columns, per head and key token) averaged over heads, tokens and 64 val images "
            "(backbones/analysis/attention.py); a block is similar when its similarity to the next exceeds 0.9. "
            "Re-attention's "
            "maps are those that weight the values (heads mixed, BatchNorm over heads: signed and centred, which "
            "alone lowers a cosine); 'same, softmax maps' counts on its softmax maps before that transform. "
            "Near-uniform maps (an untrained model) have similarity 1.")
    paths = [write_table(out, "DeepViT: attention collapse and depth", header, [table, note])]
    paths.append(_plot_depth(by, out / "depth.png"))
    paths.append(_plot_offsets(results, out / "offsets.png"))
    return paths


def _plot_depth(by: dict, path: Path) -> Path:
    fig, (ax1, ax2) = figure(2, 4.6, 3.4)
    for mixer in MIXERS:
        pts = sorted((d, runs) for (m, d), runs in by.items() if m == mixer)
        if not pts:
            continue
        depths = [d for d, _ in pts]
        for ax, get in ((ax1, lambda r: r["metrics"]["accuracy/top1"]),
                        (ax2, lambda r: _sim(r)["similar_blocks"] / max(r["info"]["depth"] - 1, 1))):
            vals = [sorted(map(get, runs)) for _, runs in pts]
            med = [v[len(v) // 2] for v in vals]
            err = [[m - v[0] for m, v in zip(med, vals)], [v[-1] - m for m, v in zip(med, vals)]]
            ax.errorbar(depths, med, yerr=err, marker="o", capsize=3, label=mixer)
        if mixer == "ReAttention":  # its softmax maps, before the transform
            share = [statistics.median(_raw(r)["similar_blocks"] / max(d - 1, 1) for r in runs) for d, runs in pts]
            ax2.plot(depths, share, "C1:", marker=".", label="ReAttention, softmax maps")
    ax1.set_ylabel("val top-1 (%)")
    ax2.set_ylabel("similar blocks / (depth - 1)")
    ax2.set_ylim(-0.05, 1.05)
    depths = sorted({d for _, d in by})
    for ax in (ax1, ax2):
        ax.set_xscale("log", base=2)
        ax.set_xticks(depths, [str(d) for d in depths])
        ax.set_xlabel("blocks")
        ax.legend(fontsize=8)
    ax1.set_title("accuracy vs depth (median, min-max)")
    ax2.set_title("share of similar blocks (> 0.9)")
    return save_png(fig, path)


def _plot_offsets(results: list[dict], path: Path) -> Path:
    deepest = max((r["info"]["depth"] for r in results), default=0)
    fig, axes = figure(len(MIXERS), 4.6, 3.4)
    lows = [v for r in results if r["info"]["depth"] == deepest for row in _sim(r)["matrix"] for v in row]
    for ax, mixer in zip(axes, MIXERS):
        ax.set_ylim(min(lows + [0.0]) - 0.05, 1.05)
        runs = sorted((r for r in results if r["info"] == dict(r["info"], mixer=mixer, depth=deepest)),
                      key=lambda r: r["seed"])
        if not runs:
            continue
        matrix, heads = _sim(runs[0])["matrix"], _sim(runs[0])["head_similarity"]
        for k in (1, 2, 3):
            if k < deepest:
                ax.plot(range(deepest - k), [matrix[p][p + k] for p in range(deepest - k)], marker=".",
                        label=f"block p vs p + {k}")
        if "before_transform" in _sim(runs[0]):
            raw = _raw(runs[0])["matrix"]
            ax.plot(range(deepest - 1), [raw[p][p + 1] for p in range(deepest - 1)], "C0:",
                    label="p vs p + 1, softmax maps")
        ax.plot(range(deepest), heads, "k--", lw=1, label="cross-head, block p")
        ax.axhline(0.9, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("block p")
        ax.set_ylabel("similarity")
        ax.set_title(f"{mixer}, {deepest} blocks (seed {runs[0]['seed']})")
        ax.legend(fontsize=7)
    return save_png(fig, path)
