"""Claim 2 - FF-only (Melas-Kyriazi 2021, "Do You Even Need Attention? A Stack of Feed-Forward Layers Does
Surprisingly Well on ImageNet", arXiv 2105.02723).

The claim: replacing self-attention by a feed-forward layer over the patch axis keeps most of the accuracy
(ImageNet top-1 of FF-only trained with the DeiT recipe: tiny 61.4, base 74.9, large/32 71.4), so attention
is not what makes a ViT work; the paper asks in turn how much of the result is owed to the patch embedding.

The experiment, part 1 (mixing): self-attention, FF-only and a no-token-mixing control
(``IdentityMixer``: each token sees only itself until pooling) at two widths, every model read out by
averaging the patch tokens (a class token that never mixes never sees the image; the same read-out for all
three keeps the mixer the only difference), on digits and on digit pairs (``backbones.bundled.digit_pairs``: the
label depends on two separated digits, which no model without token mixing can compare). If the control
lands within the seed spread of self-attention on a task, that task cannot answer the question.
Part 2 (patch embedding, on digits): FF-only held fixed, the stem varied: linear patchify with patch 2, 4 and 8,
and DeepViT's CNN stem at the patch-4 grid.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lab.runs.report import figure, fmt_spread, group, markdown_table, save_png, spread, values, write_table
from lab.runs.runs import Run

NAME = "ffonly"
CONFIGS = {
    "digits": "configs/classification/digits/mixervit_selfattention-p4-w96-d4_1xb64-40e_digits-32px.py",
    "digit_pairs": "configs/classification/digit_pairs/mixervit_selfattention-p8-w96-d4_1xb64-40e_digit-pairs-32px.py",
}
IMAGE = {"digits": 32, "digit_pairs": 32}
#: each task's patch in the mixing part: the shipped digits models' 4; one token per digit cell for the pairs
PATCH = {"digits": "patch4", "digit_pairs": "patch8"}
VAL_IMAGES = {"digits": 359, "digit_pairs": 1000}
MIXERS = ("SelfAttention", "FeedForwardMixer", "IdentityMixer")
STEMS = {"patch2": dict(type="PatchStem", patch_size=2), "patch4": dict(type="PatchStem", patch_size=4),
         "patch8": dict(type="PatchStem", patch_size=8), "cnn4": dict(type="CNNStem", patch_size=4, width=32)}
#: full mode. The stems are compared on digits only: on digit pairs the patch is part of the task's design (one
#: token per digit cell), and its patch-2 run (256 tokens, FF-only's token MLP 1024 wide) alone would cost hours
FULL = dict(tasks=("digits", "digit_pairs"), mixers=MIXERS, widths=(64, 128), seeds=(0, 1, 2),
            epochs={"digits": 40, "digit_pairs": 40}, stem_tasks=("digits",), stems=tuple(STEMS),
            stem_mixers=("FeedForwardMixer",), stem_width=64)
#: quick: one width and seed, short schedules, two stems besides the shared patch-4 run (a check, not evidence:
#: measured, self-attention needs ~40 epochs on digit pairs, 22.6% top-1 at 20 epochs, 73.3% at 40)
QUICK = dict(tasks=("digits", "digit_pairs"), mixers=MIXERS, widths=(64,), seeds=(0,),
             epochs={"digits": 6, "digit_pairs": 10}, stem_tasks=("digits",), stems=("patch4", "patch8", "cnn4"),
             stem_mixers=("FeedForwardMixer",), stem_width=64)
#: seconds per unit of :func:`_cost` (1 thread, AMD EPYC, this study's quick runs)
COST_UNIT = "1,000 image-epochs x (1 + tokens x width / 6,400)"
DEFAULT_RATES = {"SelfAttention": 1.8, "FeedForwardMixer": 1.6, "IdentityMixer": 1.2}


def _tokens(task: str, stem: str) -> int:
    patch = STEMS[stem]["patch_size"]
    return (IMAGE[task] // patch) ** 2


def _cost(task: str, stem: str, width: int, epochs: int) -> float:
    """Relative cost: thousands of image-epochs x (1 + tokens x (width / 64) / 100). Measured on the quick runs, an
    image-epoch costs ~1.9 ms plus ~0.017 ms per token at width 64: loading and per-batch work dominate."""
    images = {"digits": 1438, "digit_pairs": 4000}[task]
    return epochs * images * (1 + _tokens(task, stem) * (width / 64) / 100) / 1000


def make_run(task: str, mixer: str, width: int, stem: str, seed: int, s: dict, part: str) -> Run:
    """One run; the same model in both parts has the same settings, so it trains once (one cache entry)."""
    overrides = {"model.backbone.mixer": mixer, "model.backbone.arch.embed_dims": width,
                 "model.backbone.arch.stem": dict(STEMS[stem], _delete_=True), "model.head.in_channels": width,
                 "model.backbone.out_type": "avg_featmap", "model.backbone.with_cls_token": False,
                 **s.get("extra", {}).get(task, {})}
    epochs = s["epochs"][task]
    return Run(label=f"{task} {mixer} w{width} {stem}", config=CONFIGS[task], overrides=overrides, seed=seed,
               length=epochs, dataset=task, cost=_cost(task, stem, width, epochs), rate_key=mixer,
               info=dict(part=part, task=task, mixer=mixer, width=width, stem=stem, tokens=_tokens(task, stem)))


def plan(s: dict) -> list[Run]:
    """The runs of the study for settings ``s`` (:data:`FULL`, :data:`QUICK` or a test's)."""
    runs = [make_run(t, m, w, PATCH[t], seed, s, "mixing") for t in s["tasks"] for m in s["mixers"]
            for w in s["widths"] for seed in s["seeds"]]
    runs += [make_run(t, m, s["stem_width"], stem, seed, s, "stem") for t in s["stem_tasks"]
             for m in s["stem_mixers"] for stem in s["stems"] for seed in s["seeds"]]
    return runs


def _top1(runs: list[dict]) -> list[float]:
    return values(runs, lambda r: r["metrics"]["accuracy/top1"])


def observations(results: list[dict]) -> list[str]:
    """Per task and width: do the seed ranges of the no-mixing control and of self-attention overlap (each
    widened by one val image)? Computed from the runs, for the verdict."""
    lines, by = [], group([r for r in results if r["info"]["part"] == "mixing"], "task", "width", "mixer")
    for (task, width, mixer), runs in by.items():
        sa = by.get((task, width, "SelfAttention"))
        if mixer != "IdentityMixer" or not sa:
            continue
        ctrl, ref = spread(_top1(runs)), spread(_top1(sa))
        one = 100 / VAL_IMAGES[task]
        head = (f"- {task}, width {width}: identity control {ctrl['median']:.2f} vs self-attention "
                f"{ref['median']:.2f} [{ref['min']:.2f}-{ref['max']:.2f}] over {ref['n']} seed(s); one val image = "
                f"{one:.2f} points: ")
        if ref["n"] < 2:
            lines.append(head + f"{ref['median'] - ctrl['median']:+.2f} points for self-attention; one seed, no "
                                "spread to compare with")
        elif ctrl["max"] + one >= ref["min"] and ctrl["min"] - one <= ref["max"]:  # the seed ranges overlap
            lines.append(head + "within the noise: this task cannot tell whether mixing is needed")
        else:
            lines.append(head + f"{ref['median'] - ctrl['median']:+.2f} points for self-attention, outside the noise")
    return lines


def report(results: list[dict], out: Path, header: list[str]) -> list[Path]:
    """``table.md`` (mixing table, observations, stem table), ``mixing.png`` and ``stems.png``."""
    def row(key: tuple, runs: list[dict]) -> list:
        return [*key, f"{runs[0]['params']:,}", len(runs), fmt_spread(_top1(runs)),
                fmt_spread(values(runs, lambda r: r["metrics"]["train_loss"]), 3),
                f"{sum(r['seconds']['total'] for r in runs) / len(runs) / 60:.1f}"]

    tail = ["params", "seeds", "val top-1 (%)", "final train loss", "minutes per run"]
    mixing = group([r for r in results if r["info"]["part"] == "mixing"], "task", "width", "mixer")
    stems = group([r for r in results if r["info"]["part"] == "stem"], "task", "mixer", "stem", "tokens")
    sections = ["## Does the mixer matter? (average read-out; patch 4 on digits, 8 on digit pairs)",
                markdown_table(["task", "width", "mixer", *tail], [row(k, v) for k, v in mixing.items()]),
                "Each cell: median [min-max] over the seeds.", "Observations (computed from the runs):",
                "\n".join(observations(results)) or "- (no identity / self-attention pair finished)",
                "## How much comes from the patch embedding? (mixer fixed)",
                markdown_table(["task", "mixer", "stem", "tokens", *tail], [row(k, v) for k, v in stems.items()])]
    paths = [write_table(out, "FF-only: do you even need attention?", header, sections)]
    paths.append(_bars(mixing, out / "mixing.png", lambda k: f"{k[2].replace('Mixer', '')}\nw{k[1]}", 0,
                       "mixers (median, min-max)"))
    paths.append(_bars(stems, out / "stems.png", lambda k: f"{k[2]}\n{k[3]} tokens", 0, "stems, mixer fixed"))
    return paths


def _bars(by: dict, path: Path, label: Callable[[tuple], str], task_index: int, title: str) -> Path:
    tasks = list(dict.fromkeys(k[task_index] for k in by))
    fig, axes = figure(max(len(tasks), 1), 5.2, 3.6)
    for ax, task in zip(axes, tasks):
        keys = [k for k in by if k[task_index] == task]
        vals = [sorted(_top1(by[k])) for k in keys]
        med = [v[len(v) // 2] for v in vals]
        err = [[m - v[0] for m, v in zip(med, vals)], [v[-1] - m for m, v in zip(med, vals)]]
        ax.bar(range(len(keys)), med, yerr=err, capsize=3, color="tab:blue")
        ax.set_xticks(range(len(keys)), [label(k) for k in keys], fontsize=7)
        ax.set_ylabel("val top-1 (%)")
        ax.set_ylim(0, 100)
        ax.set_title(f"{task}: {title}", fontsize=9)
    return save_png(fig, path)
