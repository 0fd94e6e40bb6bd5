"""The benchmark tool prints consistent figures (it is a measuring instrument, not a timed test)."""
from __future__ import annotations

import argparse
import json
import re
import sys

import pytest
import torch

from backbones import MIXERS
from backbones.utils.machine import cpu_model
from lab.benchmark import cli as benchmark
from lab.benchmark import isolation, steps, time_step
from tests.support import ROOT


def test_gemm_rate_and_flops() -> None:
    step = steps.gemm_step(256)
    step()
    assert 2 * 256 ** 3 / isolation.measured(step)[0] > 1e8
    lin = torch.nn.Linear(64, 32)
    assert steps.count_flops(lin, torch.randn(5, 64)) == 2 * 5 * 64 * 32


def test_flops_count_the_deploy_form_of_external_attention() -> None:
    """The deploy form folds EA's memories into its projections: fewer FLOPs than the paper's four GEMMs,
    and backbones-flops counts the plain model unless asked for the deploy form."""
    from backbones import MixerViT, convert_to_deploy
    from backbones.apis.inspection import flops_of

    torch.manual_seed(0)
    model = MixerViT(arch=dict(preset="eamlp-7", depth=2), img_size=64).eval()
    x = torch.randn(1, 3, 64, 64)
    plain = steps.count_flops(model, x)
    assert flops_of(model, (64, 64)) == plain
    deployed = steps.count_flops(convert_to_deploy(model), x)
    assert 0 < deployed < plain


def test_compare_table(tmp_path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "b.json"
    assert benchmark.main(["eamlp-7", "--compare", "--batch", "1", "--rounds", "1", "--train", "--json", str(out)]) == 0
    row = json.loads(out.read_text())[0]
    assert row["params"] == 6_146_638 and row["gflops"] > 1
    for key in ("infer_img_s", "baseline_img_s", "infer_ratio", "train_ratio", "roofline", "peak_mb", "deploy_gain",
                "plain_img_s", "train_roofline", "gemm_gflops"):
        assert row[key] > 0, key
    assert row["faults"] >= 0 and row["baseline_faults"] >= 0
    out = capsys.readouterr().out
    assert "| eamlp-7 |" in out and cpu_model() in out and "GEMM rate" in out


def test_token_sweep_fits_exponents(tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "s.json"
    plot = tmp_path / "s.png"
    assert benchmark.main(["--sweep-tokens", "--tokens", "64", "256", "1024", "--dim", "32", "--heads", "2",
                           "--rounds", "1", "--json", str(out), "--plot", str(plot)]) == 0
    rows = json.loads(out.read_text())
    assert {r["mixer"] for r in rows} == set(MIXERS)
    assert all(r["ms"] > 0 and "exponent" in r for r in rows) and plot.stat().st_size > 0
    peaks = [r["peak_mb"] for r in rows if r["mixer"] == "ReAttention"]  # (1, 2, N, N) maps: grows with N
    assert peaks[-1] > peaks[0] > 0


def test_flops_count_cpu_fused_attention() -> None:
    """torch's counter misses the CPU flash-attention kernel; backbones.models.flop_count supplies its formula."""
    from backbones import build_mixer

    n, c = 50, 48
    layer = build_mixer("SelfAttention", dim=c, num_heads=4).eval()
    linear = 2 * n * c * (3 * c) + 2 * n * c * c
    attention = 2 * n * n * c * 2  # q k^T and A v over all heads
    assert steps.count_flops(layer, torch.randn(1, n, c)) == linear + attention


def test_time_step_prints_a_median(capsys) -> None:  # noqa: ANN001
    assert time_step.main(["vit-tiny", "--batch", "1", "--img", "32", "--iters", "2", "--train"]) == 0
    out = capsys.readouterr().out
    assert float(out.split()[-1]) > 0 and "page faults per step" in out


def test_workers_interleave_and_report_a_dead_worker() -> None:
    serve = "from lab.benchmark import isolation; import time; isolation.serve(lambda: time.sleep({}), warmup=1)"
    t = isolation.interleaved_workers({"fast": [sys.executable, "-c", serve.format(0.0)],
                                       "slow": [sys.executable, "-c", serve.format(0.05)]}, rounds=3)
    assert 0 <= t["fast"].seconds < 0.05 <= t["slow"].seconds
    assert t["fast"].faults >= 0
    with pytest.raises(RuntimeError, match="(?s)worker 'broken' exited with code 3 before sending 'ready'.*boom"):
        isolation.interleaved_workers(
            {"broken": [sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"]}, rounds=1)


def test_page_faults_are_counted() -> None:
    """A step that touches fresh memory faults once per page; one that reuses memory does not.

    The fresh step maps 64 MiB anonymously and writes one byte per page (new pages whatever the allocator and
    its settings: the run setup keeps freed heap memory, so a torch allocation may reuse pages).
    """
    import mmap

    import numpy as np

    def fresh() -> None:
        with mmap.mmap(-1, 64 << 20) as block:
            np.frombuffer(block, dtype=np.uint8)[::4096] = 1

    held = torch.zeros(16 << 20)  # 64 MiB, pages touched
    t = isolation.interleaved({"fresh": fresh, "reused": lambda: held.fill_(1)}, rounds=3)
    assert t["fresh"].faults >= 30 and t["reused"].faults < 10  # >= 32 faults even with 2 MiB transparent huge pages


def test_shared_process_mode_and_unknown_baseline() -> None:
    args = argparse.Namespace(batch=1, img=32, threads=1, shared_process=True)
    t = benchmark.time_runs("vit-tiny", {"ours": {}, "plain": dict(kind="plain"), "gemm": dict(kind="gemm")},
                            args, rounds=1, warmup=0)
    assert t["ours"].seconds > 0 and t["plain"].seconds > 0 and t["gemm"].seconds > 0
    with pytest.raises(ValueError, match="'nosuch-tiny' has no baseline"):
        steps.build_step("nosuch-tiny", "baseline")
    with pytest.raises(ValueError, match="kind must be one of"):
        steps.build_step("vit-tiny", "fast")


def test_train_memory_report_runs_each_setting_in_a_fresh_process(capsys) -> None:  # noqa: ANN001
    """--train-memory: two fresh processes (with_cp off / on) report their resident memory."""
    assert benchmark.main(["vit-tiny", "--train-memory", "--batch", "4", "--img", "64", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| False") or line.startswith("| True")]
    assert len(rows) == 2 and "with_cp: peak" in out and cpu_model() in out


def test_tools_and_tests_do_not_edit_the_import_path() -> None:
    """Every tool imports the installed package and every test the repository's packages (``tests`` is one; pytest
    puts the repository root on the path): no file of tools/ or tests/ edits ``sys.path``."""
    from tests.support import ROOT

    files = [*(ROOT / "tools").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]
    edit = re.compile(r"sys\.path(\.(insert|append|extend)\(|\[|\s*\+?=)")
    edits = [str(p.relative_to(ROOT)) for p in files if edit.search(p.read_text())]
    assert len(files) > 50 and edits == []


def test_a_training_step_of_a_config_model_draws_labels_over_its_classes() -> None:
    """A config's model (10 digit classes) times a training step: the random targets follow its head."""
    from tests.support import DIGITS_CFG

    model = steps.build_ours(str(DIGITS_CFG), 32)
    step = steps.step_fn(model, torch.randn(4, 3, 32, 32), train=True)
    losses = [float(step()) for _ in range(2)]
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[0] != losses[1]  # the optimizer stepped


@pytest.mark.parametrize("preset", ["vit-tiny", "ff-tiny", "deepvit-s", "eamlp-7"])
def test_a_converted_config_model_takes_no_page_faults_per_batch_under_the_run_setup(preset: str) -> None:
    """The shipped config's model, converted as ``--deploy`` does, in a fresh process with the allocator of the
    project's run paths: after warm-up its batches take (almost) no minor page faults, i.e. no memory is handed
    back to the kernel and taken again every batch. (With glibc's defaults the same processes took 0 to 15,000
    faults per batch here, depending on the heap's history: the reason for the run setup.)"""
    import statistics

    from backbones.utils.allocator import RUN_SETUP
    from lab.benchmark.headline import run_child, shipped_config

    spec = dict(target=str(shipped_config(preset, ROOT)), kind="ours", batch=8, img=224, threads=1, warmup=2,
                iters=9)
    tuned = run_child(spec, RUN_SETUP)
    assert RUN_SETUP.split("-")[0] in tuned["allocator"] and "MALLOC_TRIM_THRESHOLD_" in tuned["allocator"]
    # steady state: the median batch takes none, and at least two thirds of the batches map no pages. The heap
    # growing in a few batches (1,182 pages in one batch of a quiet run; 219, 3,047, 6,272 in the first three of
    # a run sharing the machine with two trainings and the test suite) is not the churn the run setup removes,
    # which with glibc's defaults shows in every batch (thousands each)
    assert statistics.median(tuned["faults"]) <= 64, tuned["faults"]
    assert sum(f <= 64 for f in tuned["faults"]) >= 6, tuned["faults"]


def test_the_allocator_script_exports_the_run_setup_unless_the_caller_chose(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """The run scripts ``eval`` the file's export lines: the run setup by default, nothing when the caller's
    environment already picks an allocator; a child reports what it runs with; a missing library is named."""
    import os
    import subprocess

    from backbones.utils import allocator

    script = ROOT / "backbones/utils/allocator.py"
    env = {k: v for k, v in os.environ.items() if k not in allocator.CHOOSING}
    shell = f'eval "$({sys.executable} {script} --exports)"; {sys.executable} {script}'
    out = subprocess.run(["bash", "-c", shell], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "glibc (MALLOC_MMAP_THRESHOLD_=33554432, MALLOC_TRIM_THRESHOLD_=4000000000)"
    out = subprocess.run(["bash", "-c", shell], env={**env, "MALLOC_ARENA_MAX": "2"}, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "glibc (MALLOC_ARENA_MAX=2)"
    assert allocator.child_env("glibc", {"MALLOC_TRIM_THRESHOLD_": "1", "PATH": "/bin"}) == {"PATH": "/bin"}
    # the processes the run cache starts (task tables, the claims study) get the run setup the same way
    assert allocator.run_setup_env({"PATH": "/bin"}) == {"PATH": "/bin", **allocator.allocator_env(allocator.RUN_SETUP)}
    assert allocator.run_setup_env({"PATH": "/bin", "LD_PRELOAD": "x.so"}) == {"PATH": "/bin", "LD_PRELOAD": "x.so"}
    monkeypatch.setattr(allocator, "LIBRARY_DIRS", (str(tmp_path),))
    with pytest.raises(ValueError, match="libjemalloc.so.2 not found.*libjemalloc2"):
        allocator.allocator_env("jemalloc")
    with pytest.raises(ValueError, match="allocator must be one of"):
        allocator.allocator_env("mimalloc")


def test_the_headline_without_baselines_times_ours_and_plain_only(monkeypatch) -> None:  # noqa: ANN001
    """``--no-baseline`` (the deploy >= plain check over many presets) starts no baseline process; the default
    starts one per preset and round, and the table's ratios follow the kinds that ran."""
    from lab.benchmark import headline as hl

    started: list[str] = []

    def fake_child(spec: dict, allocator: str) -> dict:
        started.append(spec["kind"])
        ms = {"gemm": 0.1, "ours": 0.2, "plain": 0.3, "baseline": 0.4}[spec["kind"]]
        return dict(seconds=[ms] * 3, faults=[0] * 3, warmup_s=0.0, peak_mb=1.0, allocator="glibc")

    monkeypatch.setattr(hl, "run_child", fake_child)
    result = hl.headline(["vit-tiny"], ROOT, rounds=2, iters=3, baseline=False, log=lambda s: None)
    assert sorted(started) == ["gemm", "gemm", "ours", "ours", "plain", "plain"]
    row = result["rows"][0]
    assert "baseline" not in row and "ratio" not in row and row["deploy_gain"]["value"] == pytest.approx(1.5)
    started.clear()
    row = hl.headline(["vit-tiny"], ROOT, rounds=1, iters=3, log=lambda s: None)["rows"][0]
    assert started.count("baseline") == 1 and row["ratio"]["value"] == pytest.approx(2.0)
    assert "| vit-tiny |" in hl.markdown(hl.headline(["vit-tiny"], ROOT, rounds=1, iters=3, baseline=False,
                                                     log=lambda s: None))


def test_the_onnx_step_runs_the_exported_model_and_computes_what_the_converted_model_computes() -> None:
    """``--headline --onnx`` times ours and the baseline as deployment users run them: the export tool's ONNX file
    under onnxruntime. The step computes the converted model's logits (and the baseline's), at batch 3."""
    from lab.benchmark.steps import build_step, onnx_step

    for kind in ("deploy", "baseline"):
        got = torch.as_tensor(onnx_step("ff-tiny", kind, batch=3, img=224, threads=1)())
        want = build_step("ff-tiny", kind, batch=3, img=224)()
        assert got.shape == want.shape == (3, 1000)
        assert torch.allclose(got, want, atol=1e-4, rtol=1e-4), (kind, (got - want).abs().max())
    with pytest.raises(ValueError, match="ONNX kind must be"):
        onnx_step("ff-tiny", "plain", batch=1, img=224)


def test_the_headline_with_onnx_adds_both_exported_kinds_and_their_ratio(monkeypatch) -> None:  # noqa: ANN001
    from lab.benchmark import headline as hl

    started: list[tuple[str, str]] = []

    def fake_child(spec: dict, allocator: str) -> dict:
        started.append((spec["kind"], spec.get("target", "")))
        ms = {"gemm": 0.1, "ours": 0.2, "plain": 0.3, "baseline": 0.4, "ours-onnx": 0.1, "baseline-onnx": 0.3}
        return dict(seconds=[ms[spec["kind"]]] * 3, faults=[0] * 3, warmup_s=0.0, peak_mb=1.0, allocator="glibc")

    monkeypatch.setattr(hl, "run_child", fake_child)
    result = hl.headline(["vit-tiny"], ROOT, rounds=1, iters=3, onnx=True, log=lambda s: None)
    kinds = dict(started)
    assert kinds["baseline-onnx"] == "vit-tiny" and kinds["ours-onnx"].endswith(".py")  # the shipped config
    assert result["rows"][0]["onnx_ratio"]["value"] == pytest.approx(3.0)
    assert "| vit-tiny | 100 [100-100] | 300 [300-300] | 3.00x [3.00-3.00] | 2.00x |" in hl.markdown(result)


def test_resolution_sweep_measures_each_point_in_a_fresh_process(tmp_path, capsys, monkeypatch) -> None:  # noqa: ANN001
    from lab.benchmark import resolution

    out, plot = tmp_path / "r.json", tmp_path / "r.png"
    monkeypatch.setattr(resolution, "FF_LIMIT_GB", 0.0)  # FF-only's token MLP then never fits: skipped, named
    assert benchmark.main(["vit-tiny", "--resolutions", "96", "32", "--variants", "ExternalAttention",
                           "FeedForwardMixer", "--rounds", "1", "--threads", "1", "--json", str(out), "--plot",
                           str(plot)]) == 0
    rows = json.loads(out.read_text())
    assert [(r["variant"], r["size"], r.get("tokens")) for r in rows] == [
        ("ExternalAttention", 32, 4), ("ExternalAttention", 96, 36), ("FeedForwardMixer", 32, None),
        ("FeedForwardMixer", 96, None)]
    assert all(r["ms"] > 0 and r["peak_mb"] >= r["before_mb"] > 0 for r in rows[:2]) and plot.stat().st_size > 0
    assert "token-MLP weights" in rows[2]["skipped"]
    printed = capsys.readouterr().out
    assert cpu_model() in printed and "| ExternalAttention | " in printed and "Skipped: FeedForwardMixer at 32 px" \
        in printed
    # FF-only's token MLP at 1024 px of deit-small: 12 blocks x 2 x 4 x 4096^2 float32 weights
    assert resolution.ff_weights_gb("deit-small", 1024) == pytest.approx(12 * 8 * 4096 ** 2 * 4 / 1e9)
    with pytest.raises(SystemExit, match="unknown \\['Windowed'\\]"):
        resolution.sweep("vit-tiny", [32], ["Windowed"], 1, 1)
