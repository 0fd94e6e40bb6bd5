"""Claim 1, follow-up: why Re-attention stays at chance in 2 of 3 seeds at 16 blocks.

The collapse study (:mod:`.collapse`) trains Re-attention in the form of the official DeepViT-16B / 24B / 32B
(``transform_scale=False``: the head-mixed, BatchNorm-ed map ``A'`` weights the values as it is, with unit
variance per head). At 16 blocks two of its three seeds never left chance (train loss 2.14 and 2.21 after
40 epochs, ln 10 = 2.30) while seed 0 reached 95.8%. The official DeepViT-S uses the other form,
``transform_scale=True``: ``A'`` times ``(C / H) ** -0.5``, which makes every update of the head mixing and
its BatchNorm move the block's output that much less.

The experiment: Re-attention at 16 blocks with the collapse study's width, heads, data and recipe, seeds 0,
1, 2, in three variants: *unscaled* (the collapse study's own runs: the same settings, so the same cache
key), *scaled* (DeepViT-S's form, the only change) and *unscaled at lr 1e-3* (half the recipe's peak
learning rate for the whole model: whether a smaller step anywhere does what the scale does). Per run: val
top-1, final train loss and the collapse measures (:mod:`backbones.analysis.attention`).
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from lab.runs.report import figure, fmt_spread, group, markdown_table, save_png, values, write_table
from lab.runs.runs import Run
from lab.study import collapse

NAME = "reattention-scale"
#: variant -> overrides on top of the collapse study's Re-attention run
VARIANTS: dict[str, dict] = {
    "unscaled": {},
    "scaled": {"model.backbone.mixer": dict(_delete_=True, type="ReAttention", transform_scale=True)},
    "unscaled, lr 1e-3": {"optim_wrapper.optimizer.lr": 1e-3},
}
#: full mode: 16 blocks (where the collapse study's Re-attention failed), 3 seeds per variant
FULL = dict(depth=16, seeds=(0, 1, 2), epochs=40, width=48, heads=4, variants=tuple(VARIANTS))
#: quick mode: two variants, one seed, a few epochs (a check that everything runs, not evidence)
QUICK = dict(depth=16, seeds=(0,), epochs=4, width=48, heads=4, variants=("unscaled", "scaled"))
COST_UNIT = collapse.COST_UNIT
DEFAULT_RATES = {"ReAttention": collapse.DEFAULT_RATES["ReAttention"]}
CHANCE_LOSS = math.log(10)  # the cross-entropy of a uniform guess over the 10 digits


def plan(s: dict) -> list[Run]:
    """The runs for settings ``s`` (:data:`FULL`, :data:`QUICK` or a test's): the collapse study's Re-attention
    run at ``s['depth']`` blocks, once per variant and seed."""
    base = dict(depths=(s["depth"],), seeds=s["seeds"], deep_seeds=s["seeds"], deep=s["depth"] + 1,
                epochs=s["epochs"], width=s["width"], heads=s["heads"], extra=s.get("extra", {}))
    runs = [r for r in collapse.plan(base) if r.info["mixer"] == "ReAttention"]
    return [replace(r, label=f"ReAttention d{s['depth']} {variant}", overrides={**r.overrides, **VARIANTS[variant]},
                    info=dict(r.info, variant=variant))
            for variant in s["variants"] for r in runs]


def report(results: list[dict], out: Path, header: list[str]) -> list[Path]:
    """``table.md`` (one row per variant, every seed's top-1 listed) and ``seeds.png`` (top-1 and final train
    loss of every seed, by variant)."""
    by = group(results, "variant")
    rows = []
    for (variant,), runs in by.items():
        runs = sorted(runs, key=lambda r: r["seed"])
        stuck = sum(r["metrics"]["train_loss"] > 0.9 * CHANCE_LOSS for r in runs)
        rows.append([variant, runs[0]["info"]["depth"], f"{runs[0]['params']:,}", len(runs),
                     " / ".join(f"{r['metrics']['accuracy/top1']:.2f}" for r in runs),
                     fmt_spread(values(runs, lambda r: r["metrics"]["accuracy/top1"])),
                     " / ".join(f"{r['metrics']['train_loss']:.3f}" for r in runs), f"{stuck} of {len(runs)}",
                     fmt_spread(values(runs, lambda r: r["metrics"]["similarity"]["similar_blocks"]), 0),
                     f"{sum(r['seconds']['total'] for r in runs) / len(runs) / 60:.1f}"])
    table = markdown_table(["variant", "depth", "params", "seeds", "val top-1 (%) by seed", "median [min-max]",
                            "final train loss by seed", "stuck at chance", "similar blocks (> 0.9)",
                            "minutes per run"], rows)
    seeds = ", ".join(str(s) for s in sorted({r["seed"] for r in results}))
    note = (f"Seeds in order {seeds}. 'Stuck at chance': final train loss above 90% of ln 10 (a uniform guess). "
            "unscaled = the official DeepViT-16B / 24B / 32B form (transform_scale=False, the collapse study's "
            "runs); scaled = DeepViT-S's form (the re-generated map times (C / H) ** -0.5); 'unscaled, lr 1e-3' = "
            "the unscaled form at half the recipe's learning rate.")
    paths = [write_table(out, "Re-attention at 16 blocks: the re-attention scale", header, [table, note])]
    paths.append(_plot_seeds(by, out / "seeds.png"))
    return paths


def _plot_seeds(by: dict, path: Path) -> Path:
    fig, (ax1, ax2) = figure(2, 4.6, 3.4)
    names = [v for (v,) in by]
    for i, variant in enumerate(names):
        runs = by[(variant,)]
        for ax, key in ((ax1, "accuracy/top1"), (ax2, "train_loss")):
            ax.scatter([i] * len(runs), [r["metrics"][key] for r in runs], color=f"C{i}", zorder=3)
    ax2.axhline(CHANCE_LOSS, color="grey", lw=0.8, ls=":", label="ln 10 (chance)")
    ax2.legend(fontsize=8)
    for ax, label in ((ax1, "val top-1 (%)"), (ax2, "final train loss")):
        ax.set_xticks(range(len(names)), [n.replace(", ", "\n") for n in names], fontsize=8)
        ax.set_xlim(-0.5, len(names) - 0.5)
        ax.set_ylabel(label)
    ax1.set_ylim(0, 100)
    ax1.set_title("Re-attention, 16 blocks: top-1 by seed")
    ax2.set_title("final train loss by seed")
    return save_png(fig, path)
