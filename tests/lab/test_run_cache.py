"""The run cache proves what it reports (lab/runs/run_cache.py): crafted cache folders written through the
cache's own writer, then edited - an edited metric, a deleted or changed checkpoint, a truncated or pre-digest
result.json - are never reused; each is named with its file, a normal run redoes it and ``--report`` refuses it."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from lab.runs import run_cache, runs
from lab.runs.run_cache import code_digest, code_note, write_result
from lab.runs.runs import OVERHEAD, Context, Run, cached, estimate, finished_results
from tests.support import ROOT, digits_config


def store(ctx: Context, key: str, **fields: object) -> Path:
    """A finished run's folder as :func:`runs.execute` leaves it (a checkpoint and its result.json); returns the
    result.json."""
    folder = ctx.cache / key
    ckpt = folder / "work" / "epoch_1.pth"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    ckpt.write_bytes(bytes(range(256)) * 64)
    result = dict(key=key, study="s", label="a", settings=dict(config="c.py", seed=0), info={}, seed=0,
                  dataset="digits", metric="accuracy/top1", metrics={"accuracy/top1": 41.25, "train_loss": 1.5},
                  params=10, seconds=dict(train=90.0, total=125.0), cost=1.0, rate_key="r", code="c0de",
                  checkpoint=str(ckpt), finished="2024-01-01 00:00:00")
    result.update(fields)
    write_result(result, folder / "result.json", ctx.root)
    return folder / "result.json"


def edit(path: Path, change) -> None:  # noqa: ANN001
    """Rewrite a result.json by hand (as a user editing it would), ``change`` applied to its parsed content."""
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=1) + "\n")


def age(path: Path, seconds: float = 3600.0) -> None:
    """Set a file's modification time ``seconds`` back (a cache written earlier: its digest is kept per process)."""
    os.utime(path, (time.time() - seconds,) * 2)


@pytest.fixture
def lines() -> list[str]:
    """What the context logs."""
    return []


@pytest.fixture
def ctx(tmp_path: Path, lines: list[str]) -> Context:
    return Context(root=ROOT, cache=tmp_path / "cache", data_roots={"digits": tmp_path / "no-data"},
                   log=lines.append)


def test_valid_result_is_reused_and_its_checkpoint_hashed_once(ctx: Context, lines: list[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = store(ctx, "k1")
    doc = json.loads(path.read_text())
    age(Path(doc["checkpoint"]))
    assert len(doc["digest"]) == 64 and doc["checkpoint_bytes"] == 256 * 64 and len(doc["checkpoint_sha256"]) == 64
    opened: list[str] = []  # the files the cache reads to hash them (through the library's file hash)
    real_hash = run_cache.sha256_of_file

    def counting_hash(file):  # noqa: ANN001, ANN202
        opened.append(str(file))
        return real_hash(file)

    monkeypatch.setattr(run_cache, "sha256_of_file", counting_hash)
    run_cache._HASHES.clear()
    for _ in range(5):
        r = cached(ctx, "k1")
        assert r is not None and r["metrics"]["accuracy/top1"] == 41.25
    assert opened == [doc["checkpoint"]]  # hashed once for the five reuses
    age(Path(doc["checkpoint"]), 0.0)  # just modified: hashed on every call
    assert cached(ctx, "k1") is not None and cached(ctx, "k1") is not None and len(opened) == 3
    assert ctx.invalid == {} and lines == []
    assert [r["key"] for r in finished_results(ctx, [Run("a", "c.py"), Run("b", "c.py")], ["k1", "k1"])] == ["k1"] * 2


@pytest.mark.parametrize("case, expected", [
    ("edited metric", "the metrics or other fields were changed after the run (digest mismatch"),
    ("edited field", "the metrics or other fields were changed after the run (digest mismatch"),
    ("deleted checkpoint", "its checkpoint {ckpt} is missing (the run recorded a file of 16384 bytes)"),
    ("checkpoint bytes changed", "its checkpoint {ckpt} was changed after the run (digest mismatch"),
    ("checkpoint truncated", "its checkpoint {ckpt} was changed after the run (100 bytes, the run recorded 16384)"),
    ("truncated result", "unreadable result (JSONDecodeError: "),
    ("written before digests", "written before results carried digests (no 'digest' field): its metrics and "
                               "checkpoint cannot be verified"),
    ("another run's result", "holds the result of run 'k2', expected run 'k1' (its folder)"),
])
def test_invalid_result_is_named_and_not_reused(case: str, expected: str, ctx: Context, lines: list[str]) -> None:
    path = store(ctx, "k1")
    ckpt = Path(json.loads(path.read_text())["checkpoint"])
    age(ckpt)
    assert cached(ctx, "k1") is not None  # valid first: its checkpoint's digest is now in this process's cache
    if case == "edited metric":
        edit(path, lambda d: d["metrics"].update({"accuracy/top1": 99.99}))
    elif case == "edited field":
        edit(path, lambda d: d.update(code="0123456789abcdef"))
    elif case == "deleted checkpoint":
        ckpt.unlink()
    elif case == "checkpoint bytes changed":
        data = bytearray(ckpt.read_bytes())
        data[1000] ^= 0xFF  # same size
        ckpt.write_bytes(bytes(data))
    elif case == "checkpoint truncated":
        ckpt.write_bytes(ckpt.read_bytes()[:100])
    elif case == "truncated result":
        path.write_text(path.read_text()[:150])
    elif case == "written before digests":
        edit(path, lambda d: [d.pop(k) for k in ("digest", "checkpoint_sha256", "checkpoint_bytes")])
    else:
        edit(path, lambda d: d.update(key="k2"))
    for _ in range(3):
        assert cached(ctx, "k1") is None
    message = f"{path}: " + expected.format(ckpt=ckpt)
    assert ctx.invalid["k1"].startswith(message)
    assert lines == [f"[run cache] {ctx.invalid['k1']}; not reused: the run counts as unfinished"]  # once
    assert finished_results(ctx, [Run("a", "c.py")], ["k1"]) == []


def test_estimate_uses_only_verified_results(ctx: Context, lines: list[str]) -> None:
    """The measured rate comes from valid results of the study: a tampered one and a truncated one are skipped
    (no JSONDecodeError), and the runs they hold are left to do."""
    store(ctx, "good", seconds=dict(train=1.0, total=OVERHEAD + 100.0))
    edit(store(ctx, "edited", seconds=dict(train=1.0, total=OVERHEAD + 9000.0)),
         lambda d: d["metrics"].update({"accuracy/top1": 99.99}))
    broken = store(ctx, "broken", seconds=dict(train=1.0, total=OVERHEAD + 9000.0))
    broken.write_text(broken.read_text()[:-40])
    run = Run("a", "c.py", rate_key="r", cost=2.0)
    seconds, how = estimate([run] * 4, ["good", "edited", "broken", "new"], ctx, {"r": 5.0}, "s")
    assert seconds == {k: OVERHEAD + 200.0 for k in ("edited", "broken", "new")}
    assert how == "r 100.00 (measured in the cache)"
    assert sorted(ctx.invalid) == ["broken", "edited"] and len(lines) == 2
    assert ctx.invalid["broken"].startswith(f"{broken}: unreadable result (JSONDecodeError: ")
    assert ctx.invalid["edited"].startswith(f"{ctx.cache / 'edited' / 'result.json'}: the metrics or other fields "
                                            "were changed after the run (digest mismatch")


def test_code_note_lists_runs_of_other_code() -> None:
    results = [dict(key="a", code="c1"), dict(key="a", code="c1"), dict(key="b", code="c2"), dict(key="c", code="c2")]
    assert code_note(results, "c2") == ("Code: 1 of 3 runs were produced on a code digest other than the current one "
                                        "(c2): a (code c1); the code digest is not part of the cache key.")
    assert code_note(results[2:], "c2") == "Code: all 2 runs were produced on the current code (c2)."


def fake_study(configs: list[str]) -> SimpleNamespace:
    """A study module: one run per seed on a shipped digits config; its report writes the header to table.md."""
    def plan(settings: dict) -> list[Run]:
        return [Run(label="r", config=configs[0], seed=s, rate_key="r") for s in settings["seeds"]]

    def report(results: list[dict], out: Path, header: list[str]) -> list[Path]:
        (out / "table.md").write_text("\n".join(header) + "\n")
        return [out / "table.md"]

    return SimpleNamespace(NAME="s", plan=plan, report=report, DEFAULT_RATES={"r": 1.0}, COST_UNIT="run")


def study_keys(ctx: Context, module: SimpleNamespace, seeds: list[int]) -> list[str]:
    from backbones.bundled import data_digest

    return runs.keyed(ctx, module.plan(dict(seeds=seeds)), {"digits": data_digest(ctx.data_root("digits"))})[1]


def test_report_refuses_invalid_results_and_names_stale_code(ctx: Context, lines: list[str], tmp_path: Path) -> None:
    from lab.study.cli import run_study

    module = fake_study([str(digits_config("selfattention").relative_to(ROOT))])
    keys = study_keys(ctx, module, [0, 1, 2])
    store(ctx, keys[0], code="0123456789abcdef")
    edited = store(ctx, keys[1], code=code_digest(ROOT))
    edit(edited, lambda d: d["metrics"].update({"accuracy/top1": 99.99}))
    legacy = store(ctx, keys[2], code=code_digest(ROOT))
    edit(legacy, lambda d: d.pop("digest"))
    out = tmp_path / "out"
    assert run_study(module, dict(seeds=[0, 1, 2]), ctx, out, "quick", "micro", report_only=True) == 1
    table = (out / "table.md").read_text()
    assert "99.99" not in table and "**PARTIAL** (`--report`): 1 of the study's 3 runs" in table
    stale = (f"Code: 1 of 1 runs were produced on a code digest other than the current one ({code_digest(ROOT)}): "
             f"{keys[0]} (code 0123456789abcdef)")
    assert stale in table and any(stale in line for line in lines)
    assert "**INVALID** cached results left out (2; " in table
    assert f"{edited}: the metrics or other fields were changed after the run (digest mismatch" in table
    assert f"{legacy}: written before results carried digests" in table
    doc = json.loads((out / "runs.json").read_text())
    assert [r["key"] for r in doc["runs"]] == [keys[0]] and sorted(doc["invalid"]) == sorted(keys[1:])
    refused = [line for line in lines if "--report refused" in line]
    assert len(refused) == 1 and str(edited) in refused[0] and str(legacy) in refused[0]


def test_normal_run_redoes_invalid_results(ctx: Context, lines: list[str], tmp_path: Path, digits: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """An edited result and one with a deleted checkpoint are trained again (``execute``, here a stand-in that writes
    a result as the real one does); the valid one is reused."""
    from lab.study.cli import run_study

    ctx.data_roots["digits"] = digits
    module = fake_study([str(digits_config("selfattention").relative_to(ROOT))])
    keys = study_keys(ctx, module, [0, 1, 2])
    for key in keys:
        store(ctx, key, code=code_digest(ROOT))
    edit(ctx.cache / keys[1] / "result.json", lambda d: d["metrics"].update({"accuracy/top1": 99.99}))
    (ctx.cache / keys[2] / "work" / "epoch_1.pth").unlink()
    trained: list[str] = []

    def execute(ctx_: Context, run: Run, key: str, *args: object) -> dict:
        trained.append(key)
        return json.loads(store(ctx_, key, code=code_digest(ROOT), seed=run.seed).read_text())

    monkeypatch.setattr(runs, "execute", execute)
    out = tmp_path / "out"
    assert run_study(module, dict(seeds=[0, 1, 2]), ctx, out, "quick", "micro") == 0, "\n".join(lines)
    assert trained == keys[1:]
    assert any(line.startswith(f"[run cache] {ctx.cache / keys[1] / 'result.json'}: the metrics or other fields were "
                               "changed after the run") for line in lines)
    assert any(f"its checkpoint {ctx.cache / keys[2] / 'work' / 'epoch_1.pth'} is missing" in line for line in lines)
    assert sum("(its cached result is invalid)" in line for line in lines) == 2
    assert ctx.invalid == {}
    doc = json.loads((out / "runs.json").read_text())
    assert [r["metrics"]["accuracy/top1"] for r in doc["runs"]] == [41.25] * 3
    assert "Code: all 3 runs were produced on the current code" in (out / "table.md").read_text()
