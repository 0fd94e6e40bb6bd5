"""Claim 4 - External attention in a GAN (Guo et al. 2021, "Beyond Self-attention: External Attention using Two
Linear Layers for Visual Tasks", arXiv 2105.02358, Sec. 4.5 image generation).

The claim: replacing the self-attention block of SAGAN (Zhang et al. 2019) by external attention costs nothing in
sample quality (the paper: FID and Inception score on CIFAR-10 and Tiny-ImageNet, EA at least as good).

The experiment: the shipped class-conditional SAGAN for 32 px digits (``configs/generation/digits/``), the same
networks, recipe, data and seeds, with the attention block's token mixer replaced: self-attention, external
attention (the paper's Algorithm 1 unit: one head, S = 64), FF-only's token MLP, Re-attention, and two controls -
the block with the IdentityMixer (the gate and the norm but no token mixing) and no block at all (SNGAN). Quality
is the zoo's offline metric (:class:`~backbones.generation.metrics.GenerationMetric`: Fréchet distance and k-NN
precision / recall in the features of a CNN trained on the digits, and that CNN's accuracy on the samples), of
the generator's moving average after the schedule. References measured in the same metric: real training images
against the validation images (the floor a perfect generator reaches) and the same images blurred, with their
pixels shuffled, and uniform noise (known-bad generators).

The second experiment, the test that can fail: the same GANs on mirrored digits
(:mod:`backbones.bundled.digit_mirrors`: each image a digit in its left half and its mirror image in the right half,
so the two halves must agree across the image). Self-attention against the two controls (IdentityMixer block, no
block), then External attention against self-attention; quality as above plus the samples' mirror error
(``gen/mirror_err``, 0 for every real image).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from backbones.utils.files import write_text_atomic
from lab.runs.report import figure, fmt_spread, group, markdown_table, save_png, values, write_table
from lab.runs.runs import Context, Run, code_digest, resolve_config, run_key
from lab.study.sample_grids import sample_grids

NAME = "generation"
CONFIG = "configs/generation/digits/{}-w16_1xb32-1k_digits-32px.py"
#: mixer (or control) -> shipped config name
KINDS = {"SelfAttention": "sagan_selfattention", "ExternalAttention": "sagan_externalattention",
         "FeedForwardMixer": "sagan_feedforward", "ReAttention": "sagan_reattention",
         "IdentityMixer": "sagan_identity", "none (SNGAN)": "sngan_none"}
METRICS = ("gen/fd", "gen/precision", "gen/recall", "gen/sample_acc")
MIRROR_METRICS = (*METRICS, "gen/mirror_err", "gen/mirror_err_real")
#: the mirrored-digits experiment's blocks: self-attention, the two controls, then External attention
MIRROR_KINDS = ("SelfAttention", "IdentityMixer", "none (SNGAN)", "ExternalAttention")
#: full mode: 600 iterations (~19k images seen; the budget 18 runs allowed on 2 cores with the earlier recipe); the
#: mirrored digits the configs' full 1,000 iterations (at 500 no block had learned the set: sample accuracy 34-39%)
FULL = dict(kinds=tuple(KINDS), seeds=(0, 1, 2), length=600,
            mirrors=dict(kinds=MIRROR_KINDS, seeds=(0, 1, 2), length=1000))
#: quick: self-attention, external attention and SNGAN, one seed, 60 iterations (a check, not evidence); on the
#: mirrored digits self-attention and SNGAN, 60 iterations
QUICK = dict(kinds=("SelfAttention", "ExternalAttention", "none (SNGAN)"), seeds=(0,), length=60,
             mirrors=dict(kinds=("SelfAttention", "none (SNGAN)"), seeds=(0,), length=60))
COST_UNIT = "100 iterations"
#: seconds per 100 iterations (1 thread, AMD EPYC Zen 3, measured forward + backward of each network)
DEFAULT_RATES = {"SelfAttention": 67.0, "ExternalAttention": 38.0, "FeedForwardMixer": 40.0, "ReAttention": 160.0,
                 "IdentityMixer": 35.0, "none (SNGAN)": 33.0}
REFERENCES = ("real train images", "blurred (5x5 box)", "pixels shuffled", "uniform noise")


def plan(s: dict) -> list[Run]:
    """One run per kind and seed (seed-major: a partial report holds every kind), the schedule cut to
    ``s['length']`` iterations; then the mirrored-digits runs (``s['mirrors']``, the metric with its mirror
    errors)."""
    runs = [Run(label=f"gan {kind}", config=CONFIG.format(KINDS[kind]), seed=seed, length=s["length"],
                dataset="digits", overrides=dict(s.get("extra", {})), metric=METRICS[0], extra_metrics=METRICS[1:],
                loss_keys=("loss_d_real", "loss_d_fake"), cost=s["length"] / 100, rate_key=kind,
                info=dict(kind=kind)) for seed in s["seeds"] for kind in s["kinds"]]
    m = s.get("mirrors")
    if m:
        overrides = {**s.get("extra", {}), "val_evaluator.mirror": True, "test_evaluator.mirror": True}
        runs += [Run(label=f"gan-mirrors {kind}", config=CONFIG.format(KINDS[kind]), seed=seed, length=m["length"],
                     dataset="digit_mirrors", overrides=dict(overrides),
                     metric=MIRROR_METRICS[0], extra_metrics=MIRROR_METRICS[1:],
                     loss_keys=("loss_d_real", "loss_d_fake"), cost=(m["length"] or 1000) / 100, rate_key=kind,
                     info=dict(kind=kind, experiment="mirrors")) for seed in m["seeds"] for kind in m["kinds"]]
    return runs


def degrade(images: torch.Tensor, how: str, seed: int = 0) -> torch.Tensor:
    """(M, C, H, W) uint8 images made worse: ``blurred`` (5x5 box), ``shuffled`` (one pixel permutation for all) or
    ``noise`` (uniform, same shape)."""
    g = torch.Generator().manual_seed(seed)
    if how == "blurred":
        box = torch.nn.functional.avg_pool2d(images.float(), 5, stride=1, padding=2, count_include_pad=False)
        return box.round().to(torch.uint8)
    if how == "shuffled":
        pixels = images.shape[-1] * images.shape[-2]
        return images.flatten(2)[..., torch.randperm(pixels, generator=g)].view_as(images)
    if how == "noise":
        return torch.randint(0, 256, images.shape, dtype=torch.uint8, generator=g)
    raise ValueError(f"degrade: unknown kind {how!r}; expected 'blurred', 'shuffled' or 'noise'")


def measure(ctx: Context, s: dict, cached_only: bool = False) -> list[dict] | None:
    """The metric's references: as many real training images as there are validation images (seeded choice), the
    same blurred / shuffled, and noise, each against the validation images; cached like a run (keyed by the
    evaluator's settings, the data and the code). ``cached_only``: None when not measured yet."""
    from backbones.bundled import data_digest
    from backbones.generation import ImageFolderTensors
    from backbones.generation.metrics import GenerationMetric

    cfg = resolve_config(ctx, plan(dict(s, mirrors=None))[0])
    evaluator = {k: v for k, v in cfg.test_evaluator.items() if k != "type"}
    root = str(ctx.data_root("digits"))
    key = run_key(dict(evaluator=evaluator, data=data_digest(Path(root)), code=code_digest(ctx.root)))
    path = ctx.cache / f"gen-reference-{key}" / "reference.json"
    if path.exists():
        ctx.log(f"[{NAME}] references: cached ({path})")
        return json.loads(path.read_text())
    if cached_only:
        return None
    ctx.log(f"[{NAME}] references: real, blurred, shuffled and noise images in the metric ...")
    metric = GenerationMetric(**dict(evaluator, data_root=root))
    sets = {split: ImageFolderTensors(data_root=root, data_prefix=split, classes_from="train", size=32, channels=1)
            .all_images() for split in ("train", "val")}
    (val, _), (train, train_labels) = sets["val"], sets["train"]
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:len(val)]
    real, labels = train[pick], train_labels[pick]
    rows = []
    for name, fake in zip(REFERENCES, (real, degrade(real, "blurred"), degrade(real, "shuffled"),
                                       degrade(real, "noise"))):
        rows.append(dict(name=name, **metric.evaluate_images(val, fake, labels)))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(json.dumps(rows, indent=1) + "\n", path)
    return rows


def _metric(runs: list[dict], name: str) -> list[float]:
    return values(runs, lambda r: r["metrics"].get(name))


def report(results: list[dict], out: Path, header: list[str], references: list[dict] | None = None) -> list[Path]:
    """``table.md`` (the metric per kind and the references), ``fd.png`` and ``samples.png`` (seed 0 of each kind,
    one row per class); the mirrored digits' section and ``mirrors-samples.png`` when some of its runs finished."""
    from lab.study.generation_mirrors import mirror_sections

    mirrors = [r for r in results if r["info"].get("experiment") == "mirrors"]
    results = [r for r in results if r["info"].get("experiment") != "mirrors"]
    by_kind = group(results, "kind")
    rows = [[kind, f"{runs[0]['params']:,}", len(runs), *[fmt_spread(_metric(runs, m), 3 if m in METRICS[1:3] else 2)
                                                          for m in METRICS],
             fmt_spread([r["seconds"]["train"] / 60 for r in runs], 1)] for (kind,), runs in by_kind.items()]
    sections = ["## Sample quality per attention block (generator's moving average after the schedule)",
                markdown_table(["attention block", "params", "seeds", "FD (lower better)", "precision", "recall",
                                "sample acc %", "train min"], rows),
                "Each cell: median [min-max] over the seeds. params: both networks and the generator's moving "
                "average. FD, precision and recall (k = 3) in the feature CNN's space, 359 samples (one per "
                "validation image, its label, fixed noise) against the 359 validation images."] if rows else []
    if references:
        sections += ["## The metric's references (same metric, same validation images)",
                     markdown_table(["images", "FD", "precision", "recall", "sample acc %"],
                                    [[r["name"], f"{r['fd']:.2f}", f"{r['precision']:.3f}", f"{r['recall']:.3f}",
                                      f"{r['sample_acc']:.2f}"] for r in references])]
    sections += _comparison(by_kind)
    extra = []
    if mirrors:
        text, extra = mirror_sections(mirrors, out)
        sections += text
    paths = [write_table(out, "External attention in a GAN: sample quality against self-attention", header,
                         sections)]
    if by_kind:
        paths.append(_plot(by_kind, references, out / "fd.png"))
        grid = sample_grids(by_kind, out / "samples.png")
        paths += [grid] if grid else []
    return paths + extra


def _comparison(by_kind: dict[tuple, list[dict]]) -> list[str]:
    """EA against self-attention: medians and whether the seeds' ranges overlap."""
    sa, ea = by_kind.get(("SelfAttention",)), by_kind.get(("ExternalAttention",))
    if not sa or not ea:
        return []
    lines = []
    for m in METRICS:
        a, b = _metric(sa, m), _metric(ea, m)
        overlap = min(max(a), max(b)) >= max(min(a), min(b))
        lines.append(f"- {m}: ExternalAttention {fmt_spread(b)} vs SelfAttention {fmt_spread(a)}; the seeds' ranges "
                     f"{'overlap' if overlap else 'do not overlap'}")
    return ["## External attention against self-attention", "\n".join(lines)]


def _plot(by_kind: dict[tuple, list[dict]], references: list[dict] | None, path: Path) -> Path:
    fig, axes = figure(2, 4.8, 3.4)
    kinds = [k for (k,) in by_kind]
    for ax, m, label in ((axes[0], "gen/fd", "Fréchet distance (lower better)"),
                         (axes[1], "gen/sample_acc", "sample accuracy % (higher better)")):
        pts = [sorted(_metric(by_kind[(k,)], m)) for k in kinds]
        med = [v[len(v) // 2] for v in pts]
        ax.errorbar(range(len(kinds)), med, yerr=[[md - v[0] for md, v in zip(med, pts)],
                                                  [v[-1] - md for md, v in zip(med, pts)]],
                    fmt="o", capsize=3)
        if references:
            real = references[0]["fd" if m == "gen/fd" else "sample_acc"]
            ax.axhline(real, color="g", ls="--", lw=0.8, label="real training images")
            ax.legend(fontsize=7)
        ax.set_xticks(range(len(kinds)), [k.replace(" (SNGAN)", "\n(SNGAN)") for k in kinds], rotation=30,
                      fontsize=7, ha="right")
        ax.set_ylabel(label)
    return save_png(fig, path)


