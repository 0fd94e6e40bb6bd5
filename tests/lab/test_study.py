"""The claims study (lab/study): DeepViT's similarity measure, the no-mixing control, the digit-pairs
generator, and one micro run of each study (2 tiny configs, 1 epoch, few images) with its outputs and cache."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from backbones import MIXERS, MixerViT
from backbones.analysis.attention import block_similarity, head_similarity, map_cosine, similar_blocks
from tests.support import ROOT, digits_config


def permutation_maps(perms: list[list[int]]) -> torch.Tensor:
    """(1, h, N, N) maps where query i of head h attends only to key perms[h][i]."""
    n = len(perms[0])
    maps = torch.zeros(1, len(perms), n, n)
    for h, perm in enumerate(perms):
        maps[0, h, torch.arange(n), torch.tensor(perm)] = 1.0
    return maps


def test_identical_maps_give_one_and_all_blocks_similar() -> None:
    torch.manual_seed(0)
    a = torch.rand(2, 3, 10, 10).softmax(-1)
    sim = block_similarity([a, a.clone(), a.clone(), a.clone()])
    torch.testing.assert_close(sim, torch.ones(4, 4))
    assert similar_blocks(sim) == 3  # L - 1


def test_orthogonal_maps_give_zero() -> None:
    """Two permutation maps with no (query, key) entry in common: every column pair is orthogonal."""
    a = permutation_maps([[0, 1, 2, 3]])
    b = permutation_maps([[1, 2, 3, 0]])
    torch.testing.assert_close(map_cosine(a, b), torch.zeros(1, 1, 4))
    sim = block_similarity([a, b, a])
    assert sim[0, 1] == 0 and sim[1, 2] == 0 and sim[0, 2] == 1
    assert similar_blocks(sim) == 0


def test_similarity_runs_over_the_columns() -> None:
    """DeepViT's Eq. 3: A_{h,:,t}, one cosine per head and key token t, taken over the query axis."""
    torch.manual_seed(1)
    a, b = torch.rand(2, 2, 5, 7), torch.rand(2, 2, 5, 7)
    want = torch.nn.functional.cosine_similarity(a, b, dim=-2)  # (2, 2, 7): over the 5 queries
    torch.testing.assert_close(map_cosine(a, b), want)
    with pytest.raises(ValueError, match="different shapes"):
        map_cosine(a, b[..., :6])


def test_cross_head_similarity() -> None:
    same = permutation_maps([[0, 1, 2, 3]] * 3)
    assert head_similarity([same]) == [pytest.approx(1.0)]
    # heads 0 and 1 identical, head 2 orthogonal to both: 2 of the 6 ordered pairs are similar
    mixed = permutation_maps([[0, 1, 2, 3], [0, 1, 2, 3], [1, 2, 3, 0]])
    assert head_similarity([same, mixed]) == [pytest.approx(1.0), pytest.approx(1 / 3)]
    assert head_similarity([permutation_maps([[0, 1]])])[0] != head_similarity([permutation_maps([[0, 1]])])[0]  # nan


def test_identity_mixer_is_registered_and_mixes_nothing() -> None:
    from mmengine.registry import MODELS

    from backbones.models.mixers import IdentityMixer

    assert MIXERS["IdentityMixer"] is IdentityMixer and MODELS.get("IdentityMixer") is IdentityMixer
    assert not IdentityMixer.mixes_tokens
    torch.manual_seed(0)
    arch = dict(embed_dims=16, depth=2, num_heads=2, mixer="IdentityMixer", stem=dict(type="PatchStem", patch_size=8))
    model = MixerViT(arch, img_size=32, out_type="raw", with_cls_token=False).eval()
    x = torch.randn(1, 3, 32, 32)
    x2 = x.clone()
    x2[:, :, :8, :8] += 1.0  # the first patch only
    with torch.no_grad():
        d = (model(x)[-1] - model(x2)[-1]).abs().amax(-1)  # (1, 16 tokens)
    assert d[0, 0] > 0 and d[0, 1:].max() == 0


def test_digit_pairs_are_deterministic_and_labelled(tmp_path: Path, digits: Path) -> None:  # noqa: F811
    import numpy as np
    from PIL import Image

    from backbones.bundled.digit_pairs import prepare_pairs

    a = prepare_pairs(tmp_path / "a", digits, n_train=24, n_val=8)
    b = prepare_pairs(tmp_path / "b", digits, n_train=24, n_val=8)
    info_a, info_b = (json.loads((p / "dataset.json").read_text()) for p in (a, b))
    assert info_a["sha256"] == info_b["sha256"] and info_a["classes"] == [str(d) for d in range(10)]
    records = json.loads((a / "pairs.json").read_text())
    assert len(records) == 32 and [r["split"] for r in records] == ["train"] * 24 + ["val"] * 8
    for r in records[:12]:
        assert r["label"] == str(sum(r["digits"]) % 10) == Path(r["file"]).parent.name
        img = np.asarray(Image.open(a / r["file"]).convert("L"))
        assert img.shape == (32, 32)
        inside = np.zeros_like(img, dtype=bool)
        for y, x, side in r["boxes"]:
            assert side == 8 and y % 8 == 0 and x % 8 == 0  # one cell of the 4 x 4 grid each
            assert img[y:y + side, x:x + side].max() > 100  # a digit is drawn in each
            inside[y:y + side, x:x + side] = True
        assert r["boxes"][0] != r["boxes"][1] and img[~inside].max() == 0  # two cells, nothing elsewhere
    c = prepare_pairs(tmp_path / "c", digits, rule="same", n_train=12, n_val=4)
    for r in json.loads((c / "pairs.json").read_text()):
        assert r["label"] == ("same" if r["digits"][0] == r["digits"][1] else "different")
        assert Path(r["file"]).parent.name == r["label"]
    with pytest.raises(ValueError, match="unknown label rule 'max'"):
        prepare_pairs(tmp_path / "d", digits, rule="max")


def test_rescaled_schedule_keeps_its_shape() -> None:
    from mmengine.config import Config

    from lab.runs.runs import rescale_schedule

    cfg = Config.fromfile(str(digits_config("reattention")),
                          import_custom_modules=False)
    rescale_schedule(cfg, 4)
    warmup, cosine = cfg.param_scheduler
    assert (warmup.end, cosine.begin, cosine.end) == (1, 0, 4) and cfg.train_cfg.max_epochs == 4
    assert cfg.train_cfg.val_interval == 5 and cfg.default_hooks.checkpoint.interval == 4
    assert cfg.custom_hooks[0].interval == 4  # PreciseBN recomputed for the last checkpoint
    with pytest.raises(ValueError, match="positive"):
        rescale_schedule(cfg, 0)


def test_reattention_scale_variants_change_only_their_setting() -> None:
    """The follow-up's unscaled runs are the collapse study's own (same settings, same cache key); the scaled
    variant builds DeepViT-S's form and the lr variant only the learning rate."""
    from lab.runs.runs import Context, resolve_config
    from lab.study import collapse, reattention_scale

    runs = reattention_scale.plan(reattention_scale.FULL)
    assert len(runs) == 9 and len({(r.info["variant"], r.seed) for r in runs}) == 9
    theirs = {r.seed: r.settings("d") for r in collapse.plan(collapse.FULL)
              if r.info == dict(mixer="ReAttention", depth=16, width=48)}
    ctx = Context(root=ROOT, cache=ROOT / "unused")
    for r in runs:
        cfg = resolve_config(ctx, r)
        scaled, lr = r.info["variant"] == "scaled", r.info["variant"].endswith("lr 1e-3")
        assert (r.settings("d") == theirs[r.seed]) == (r.info["variant"] == "unscaled")
        assert cfg.model.backbone.mixer == (dict(type="ReAttention", transform_scale=True) if scaled else "ReAttention")
        assert cfg.optim_wrapper.optimizer.lr == (1e-3 if lr else 2e-3)
        assert cfg.model.backbone.arch.depth == 16 and cfg.randomness.seed == r.seed
        assert MixerViT(**{k: v for k, v in cfg.model.backbone.items() if k != "type"}).blocks[0].mixer.reatten_scale \
            == (12 ** -0.5 if scaled else 1.0)


TINY = {"train_dataloader.dataset.indices": 64, "val_dataloader.dataset.indices": 32,
        "test_dataloader.dataset.indices": 32, **{f"{s}_dataloader.num_workers": 0 for s in ("train", "val", "test")},
        **{f"{s}_dataloader.persistent_workers": False for s in ("train", "val", "test")}}
MICRO = {
    "collapse": dict(depths=(2,), seeds=(0,), deep_seeds=(0,), deep=32, epochs=1, width=16, heads=2,
                     extra={"digits": TINY}),
    "ffonly": dict(tasks=("digits",), mixers=("SelfAttention", "IdentityMixer"), widths=(16,), seeds=(0,),
                   epochs={"digits": 1},
                   stem_tasks=("digits",), stems=("patch4",), stem_mixers=("IdentityMixer",), stem_width=16,
                   extra={"digits": {**TINY, "model.backbone.arch.num_heads": 2}}),
    "external": dict(sweep=dict(tokens=(16, 64, 256), rounds=1, dim=16, heads=2), memories=(64,),
                     memory_seeds={"digits": (0,)}, matched_seeds={"digits": (0,)}, kinds=("SelfAttention", "EA-e4"),
                     lengths={"digits": 1}, extra={"digits": {**TINY, "model.backbone.arch.embed_dims": 16,
                                                               "model.backbone.arch.num_heads": 2,
                                                               "model.head.in_channels": 16}}),
    "reattention-scale": dict(depth=2, seeds=(0,), epochs=1, width=16, heads=2, variants=("unscaled", "scaled"),
                              extra={"digits": TINY}),
    "generation": dict(kinds=("ExternalAttention",), seeds=(0,), length=2,
                       mirrors=dict(kinds=("none (SNGAN)",), seeds=(0,), length=2),
                       extra={"model.generator.base_width": 8, "model.discriminator.base_width": 8,
                              "train_dataloader.batch_size": 8, "train_dataloader.dataset.indices": 64,
                              "default_hooks.logger.interval": 1,
                              **{f"{s}_dataloader.dataset.indices": 40 for s in ("val", "test")},
                              **{f"{s}_evaluator.{k}": v for s in ("val", "test")
                                 for k, v in (("classifier_images", 200), ("classifier_epochs", 1))}}),
}
PNGS = {"collapse": ["depth.png", "offsets.png"], "ffonly": ["mixing.png", "stems.png"],
        "external": ["sweep.png", "memory.png"], "reattention-scale": ["seeds.png"],
        "generation": ["fd.png", "samples.png", "mirrors.png", "mirrors-samples.png"]}


@pytest.mark.parametrize("name", sorted(MICRO))
def test_micro_study_writes_json_table_plots_and_reuses_runs(name: str, tmp_path: Path, digits: Path) -> None:  # noqa: F811
    from PIL import Image

    from lab.runs.runs import Context
    from lab.study.cli import STUDIES, run_study

    lines: list[str] = []
    ctx = Context(root=ROOT, cache=tmp_path / "cache", data_roots={"digits": digits,
                                                                 "digit_mirrors": tmp_path / "mirrors"},
                  log=lines.append)
    out = tmp_path / "out"
    assert run_study(STUDIES[name], MICRO[name], ctx, out, "quick", f"micro {name}", jobs=2) == 0, "\n".join(lines)
    doc = json.loads((out / "runs.json").read_text())
    assert doc["study"] == name and doc["mode"] == "quick" and doc["machine"]["cpu"]
    assert len(doc["runs"]) >= 2
    for run in doc["runs"]:
        assert {"key", "settings", "seed", "metrics", "seconds", "params", "machine"} <= set(run)
        assert run["params"] > 0 and run["metrics"]["train_loss"] > 0
    table = (out / "table.md").read_text()
    assert "QUICK MODE" in table and "micro " + name in table
    rows = [ln for ln in table.splitlines() if ln.startswith("| ") and not ln.startswith("| task") and
            not re.match(r"\| (mixer|tokens|variant) ", ln)]
    assert len(rows) >= 2
    for png in PNGS[name]:
        with Image.open(out / png) as im:
            im.verify()
        assert (out / png).stat().st_size < 200_000
    if name == "generation":  # the mirrored-digits experiment: its own section, the mirror error measured
        assert "## Mirrored digits" in table
        mirrored = [r for r in doc["runs"] if r["info"].get("experiment") == "mirrors"]
        assert len(mirrored) == 1 and mirrored[0]["metrics"]["gen/mirror_err_real"] == 0
        assert mirrored[0]["metrics"]["gen/mirror_err"] > 0
    if name == "collapse":
        sim = doc["runs"][0]["metrics"]["similarity"]
        assert len(sim["adjacent"]) == 1 and len(sim["head_similarity"]) == 2 and sim["threshold"] == 0.9
    # a rerun trains nothing: every run comes from the cache, results unchanged
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "cache").glob("*/result.json")}
    lines.clear()
    assert run_study(STUDIES[name], MICRO[name], ctx, out, "quick", f"micro {name}", jobs=2) == 0
    assert not any("training in" in ln for ln in lines) and any(": cached (" in ln for ln in lines)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "cache").glob("*/result.json")} == stamps
    assert [r["key"] for r in json.loads((out / "runs.json").read_text())["runs"]] == [r["key"] for r in doc["runs"]]
    # --report: the outputs of the runs finished so far, nothing trained, the count said
    keys = list(dict.fromkeys(r["key"] for r in doc["runs"]))
    (tmp_path / "cache" / keys[0] / "result.json").unlink()
    lines.clear()
    partial = tmp_path / "partial"
    assert run_study(STUDIES[name], MICRO[name], ctx, partial, "quick", "micro", report_only=True) == 0
    assert not any("training in" in ln for ln in lines)
    said = f"**PARTIAL** (`--report`): {len(keys) - 1} of the study's {len(keys)} runs"
    assert said in (partial / "table.md").read_text()
    kept = json.loads((partial / "runs.json").read_text())
    assert kept["mode"] == "quick (partial)" and keys[0] not in {r["key"] for r in kept["runs"]}
    assert not list((tmp_path / "cache").glob(f"{keys[0]}/result.json"))  # still not trained


def test_runs_in_parallel_jobs_read_configs_one_at_a_time(tmp_path: Path) -> None:
    """Jobs run in threads; their config reads must not race in OpenMMLab's imports (a fresh process, where
    nothing is imported yet, is where two threads loading ``mmseg::`` configs once broke every later load)."""
    code = f"""
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from lab.runs.runs import Context, Run, write_config
ctx = Context(root=Path({str(ROOT)!r}), cache=Path({str(tmp_path)!r}))
configs = sorted(str(p.relative_to(ctx.root)) for p in (ctx.root / "configs/segmentation/digit_scenes").glob("*.py"))
def write(n):
    write_config(ctx, Run(label=str(n), config=configs[n % len(configs)], dataset="digit_scenes"),
                 ctx.cache / f"{{n}}.py")
with ThreadPoolExecutor(2) as pool:
    list(pool.map(write, range(6)))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.glob("*.py")) == [f"{n}.py" for n in range(6)]


def test_verify_reruns_a_run_as_its_study_plans_it(tmp_path: Path, digits: Path) -> None:  # noqa: F811
    """``--verify``: a GAN run (whose train loss is its discriminator's two terms, a setting only the study's plan
    holds) retrained on the current code repeats its stored metrics bit for bit."""
    from lab.runs.runs import Context
    from lab.study.cli import STUDIES, run_study

    lines: list[str] = []
    ctx = Context(root=ROOT, cache=tmp_path / "cache", data_roots={"digits": digits}, log=lines.append)
    settings = dict(MICRO["generation"], kinds=("none (SNGAN)",), mirrors=None)
    assert run_study(STUDIES["generation"], settings, ctx, tmp_path / "out", "quick", "micro", verify_runs=1) == 0, \
        "\n".join(lines)
    assert any("[verify] gan none (SNGAN) (seed 0): reproduced" in ln for ln in lines), "\n".join(lines)
    assert any("verify: 1 of 1 reruns on the current code reproduced" in ln for ln in lines)


def test_only_keeps_one_experiment_and_names_the_valid_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture) -> None:
    """``--only``: the generation study's mirrored-digits runs alone (every seed and block, the full length), the
    digits runs alone as ``main``; an unknown experiment is an error naming the valid ones."""
    from lab.study import generation
    from lab.study.cli import main, only_experiment

    runs = generation.plan(generation.FULL)
    mirrors = only_experiment(runs, "mirrors", "generation")
    assert len(mirrors) == 12 and all(r.dataset == "digit_mirrors" and r.length == 1000 for r in mirrors)
    assert [r.info["kind"] for r in mirrors[:4]] == list(generation.MIRROR_KINDS)  # seed-major
    main_runs = only_experiment(runs, "main", "generation")
    assert len(main_runs) == 18 and all(r.dataset == "digits" for r in main_runs)
    with pytest.raises(SystemExit, match=r"--only 'digits'.*valid: \['main', 'mirrors'\]"):
        only_experiment(runs, "digits", "generation")
    monkeypatch.chdir(ROOT)
    assert main(["generation", "--plan", "--only", "mirrors", "--cache", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "full: 12 runs, 0 finished" in out and "gan-mirrors" in out and "gan SelfAttention" not in out
