"""No checkpoint runs code: crafted files through every loading entry point; real ones still load and resume.

Two crafted payloads, each writing a marker file if it ran: a getattr chain that reaches ``builtins.exec``
(``getattr(getattr, '__self__')`` gives the builtins module; torch's allowed ``_rebuild_from_type_v2``
calls what it is given) and an ``os.system`` ``__reduce__``. They sit in ``meta`` of an otherwise real
checkpoint of the digits classifier.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from backbones.engine.checkpoint.safe_load import UnsafeCheckpointError, history_buffer_getattr, safe_load
from tests.support import ROOT, build_classifier, digits_config, http_server, load_cfg, run_tool, small_config
from tests.support.crafted import REFUSED, RUNS_CODE, craft

FINETUNE_CFG = ROOT / "configs/classification/digits/mixervit_vit-tiny-in1k-pre_1xb64-10e_digits-64px.py"
POINT_CFG = ROOT / "configs/pointcloud/shapes/pct_offsetattention-w64_1xb32-10e_shapes-cls-512pts.py"
SEG_CFG = ROOT / "configs/segmentation/digit_scenes/upernet_selfattention-cnn-p4-w64-d4_1xb8-4k_digit-scenes-64px.py"
def classifier_state(config: Path, data_root: Path) -> dict:
    """The state dict of a digits config's classifier (random weights)."""
    from backbones.engine.runner.config import resolve_auto_num_classes

    cfg = load_cfg(config)
    cfg.train_dataloader.dataset.data_root = str(data_root)
    resolve_auto_num_classes(cfg)
    return build_classifier(cfg).state_dict()


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "CODE_RAN"


def test_import_backbones_registers_safe_loaders_and_patches_nothing() -> None:
    """``import backbones`` registers the safe loader for mmengine's schemes through ``register_scheme`` (idempotent:
    a second registration changes nothing) and leaves torch's allow-list and mmengine's local writer as they were;
    ``backbones.safe_loading`` still imports and changes nothing more."""
    code = """
import torch, mmpretrain.models, mmseg.models
from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.runner.checkpoint import CheckpointLoader
state = lambda: (sorted(map(repr, torch.serialization.get_safe_globals())), LocalBackend.put, LocalBackend.put_text)
loader = lambda: CheckpointLoader._get_checkpoint_loader('/x.pth').__name__
before, plain = state(), loader()
import backbones
from backbones.engine.checkpoint.loaders import unsafe_schemes, use_safe_loader
assert state() == before, 'import backbones changed the allow-list or a writer'
assert plain == 'load_from_local' and loader() == 'load_from_local_safe', (plain, loader())
assert unsafe_schemes() == [], unsafe_schemes()
schemes = dict(CheckpointLoader._schemes)
use_safe_loader()
import backbones.safe_loading
assert CheckpointLoader._schemes.keys() == schemes.keys() and state() == before
print('ok')
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.split() == ["ok"], proc.stderr[-3000:]


def test_history_buffer_getattr_allows_only_the_statistics_methods() -> None:
    from mmengine.logging import HistoryBuffer

    for name in ("min", "max", "mean", "current"):
        assert history_buffer_getattr(HistoryBuffer, name) is getattr(HistoryBuffer, name)
    for obj, name in ((getattr, "__self__"), (history_buffer_getattr, "__globals__"), (HistoryBuffer, "__init__"),
                      (HistoryBuffer, "__dict__"), (HistoryBuffer(), "min"), (os, "system")):
        with pytest.raises(pickle.UnpicklingError, match=r"refused global builtins\.getattr"):
            history_buffer_getattr(obj, name)


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_crafted_payloads_are_real_and_refused(kind: str, tmp_path: Path, marker: Path) -> None:
    """The code payloads run code under a full unpickler (so the refusals mean something); the safe loader refuses
    every payload, naming the file and the global, and nothing runs."""
    path = craft(tmp_path / f"{kind}.pth", kind, marker)
    if kind in RUNS_CODE:
        if kind == "getattr":  # what an allow-listed builtins.getattr made possible
            with pytest.raises(AttributeError), torch.serialization.safe_globals([getattr]):
                torch.load(path, weights_only=True)
        else:
            torch.load(path, weights_only=False)
        assert marker.exists()
        marker.unlink()
    with pytest.raises(UnsafeCheckpointError) as err:
        safe_load(path)
    assert f"checkpoint {path} refused" in str(err.value) and REFUSED[kind] in str(err.value), str(err.value)
    assert not marker.exists()


def test_mmengine_message_hub_round_trip(tmp_path: Path) -> None:
    """What mmengine saves beside the weights (HistoryBuffer statistics, numpy values) loads and works."""
    import numpy as np
    from mmengine.logging import MessageHub

    hub = MessageHub("safe-load-test")
    for v in (3.0, 1.0, 2.0):
        hub.update_scalar("train/loss", v)
    hub.update_info("keep", np.arange(3, dtype=np.int64))
    torch.save({"message_hub": hub.state_dict(), "seed": np.float64(0.5)}, tmp_path / "c.pth")
    out = safe_load(tmp_path / "c.pth")
    scalar = out["message_hub"]["log_scalars"]["train/loss"]
    assert (scalar.min(), scalar.max(), scalar.current()) == (1.0, 3.0, 2.0)
    assert out["seed"] == 0.5 and out["message_hub"]["runtime_info"]["keep"].tolist() == [0, 1, 2]


def _mmpretrain_train() -> str:
    spec = importlib.util.find_spec("mmpretrain")
    return str(Path(spec.submodule_search_locations[0]) / ".mim" / "tools" / "train.py")


#: the payloads run through every entry point (every payload goes through every scheme: test_safe_load_schemes.py)
ENTRY_KINDS = ["getattr", "system"]
#: every tool that loads a checkpoint, as (script, args) with CFG / FIXED (no num_classes='auto', for mmpretrain's
#: own train.py) / FINETUNE configs, the crafted FILE, an IMAGE and a WORK dir.
ENTRY_POINTS = {
    "tools/test.py": ["tools/test.py", "CFG", "FILE", "--work-dir", "WORK"],
    "tools/train.py --resume": ["tools/train.py", "CFG", "--work-dir", "WORK", "--resume", "FILE"],
    "load_from": ["tools/train.py", "CFG", "--work-dir", "WORK", "--cfg-options", "load_from=FILE"],
    "init_cfg Pretrained": ["tools/train.py", "FINETUNE", "--work-dir", "WORK", "--cfg-options",
                            "model.backbone.init_cfg.checkpoint=FILE"],
    "tools/infer_points.py": ["tools/infer_points.py", str(POINT_CFG), "FILE", "IMAGE"],
    "attention_similarity.py": ["tools/analysis/attention_similarity.py", "CFG", "FILE", "--out", "WORK.png"],
    "vis_attention.py": ["tools/analysis/vis_attention.py", "CFG", "FILE", "IMAGE", "--out", "WORK.png"],
    "tools/deploy/export.py": ["tools/deploy/export.py", "CFG", "FILE", "--format", "onnx", "--input", "IMAGE",
                               "--out", "WORK.onnx"],
    "mmpretrain tools/train.py --resume": [_mmpretrain_train(), "FIXED", "--work-dir", "WORK", "--resume", "FILE"],
    # the same checkpoints named by URL (served on 127.0.0.1, cached under the run's BACKBONES_CACHE)
    "load_from URL": ["tools/train.py", "CFG", "--work-dir", "WORK", "--cfg-options", "load_from=URL"],
    "init_cfg Pretrained URL": ["tools/train.py", "FINETUNE", "--work-dir", "WORK", "--cfg-options",
                                "model.backbone.init_cfg.checkpoint=URL"],
    "tools/infer_points.py URL": ["tools/infer_points.py", str(POINT_CFG), "URL", "IMAGE"],
    "mmpretrain.get_model URL": ["SCRIPTS/get_model.py", "FIXED", "URL"],
    "mmseg.apis.init_model URL": ["SCRIPTS/init_model.py", str(SEG_CFG), "URL"],
    # mmpretrain's own --resume when the work dir's last_checkpoint names a URL: resume is from local files only
    "mmpretrain tools/train.py --resume, last_checkpoint URL": [_mmpretrain_train(), "FIXED", "--work-dir", "RESUMEDIR",
                                                               "--resume"],
}
#: entries that refuse the URL before anything is read
LOCAL_ONLY = {"mmpretrain tools/train.py --resume, last_checkpoint URL"}
SCRIPTS = {
    "get_model.py": "import sys\nimport mmpretrain\nfrom mmengine.config import Config\n"
                    "mmpretrain.get_model(Config.fromfile(sys.argv[1]), pretrained=sys.argv[2])\n",
    "init_model.py": "import sys\nfrom mmseg.apis import init_model\n"
                     "init_model(sys.argv[1], sys.argv[2], device='cpu')\n",
}


@pytest.fixture(scope="module")
def crafted_runs(tmp_path_factory, digits: Path) -> dict:  # noqa: ANN001, F811
    """Every entry point x payload, run by tests/support/forked_runs.py: {(entry, kind): (exit code, output, file,
    marker)}."""
    import json

    root = tmp_path_factory.mktemp("crafted")
    cfg = small_config(root, digits, epochs=1)
    (root / "fixed").mkdir()
    fixed = small_config(root / "fixed", digits, epochs=1,
                         extra="model = dict(head=dict(num_classes=10))\ndata_preprocessor = dict(num_classes=10)")
    (root / "finetune").mkdir()
    finetune = small_config(root / "finetune", digits, base=FINETUNE_CFG, epochs=1)
    state = classifier_state(cfg, digits)
    for script, text in SCRIPTS.items():
        (root / script).write_text(text)
    words = dict(CFG=str(cfg), FIXED=str(fixed), FINETUNE=str(finetune),
                 IMAGE=str(next((digits / "val" / "0").iterdir())), SCRIPTS=str(root))
    jobs, keys = [], []
    with http_server(root) as base:
        for entry, template in ENTRY_POINTS.items():
            for kind in ENTRY_KINDS:
                name = f"{len(jobs)}_{kind}"
                marker = root / f"{name}.CODE_RAN"
                file = craft(root / f"{name}.pth", kind, marker, state)
                url = f"{base}/{file.name}"
                work = root / f"{name}_work"
                if "RESUMEDIR" in template:  # a work dir whose last_checkpoint names the crafted file's URL
                    work.mkdir()
                    (work / "last_checkpoint").write_text(url)
                subs = dict(words, FILE=str(file), URL=url, WORK=str(work), RESUMEDIR=str(work))
                argv = [next((a.replace(k, v) for k, v in subs.items() if k in a), a) for a in template]
                jobs.append(dict(argv=argv, log=str(root / f"{name}.log")))
                keys.append((entry, kind, url if any("URL" in a for a in template) or "RESUMEDIR" in template else file,
                             marker))
        (root / "jobs.json").write_text(json.dumps(jobs))
        proc = subprocess.run([sys.executable, "-m", "tests.support.forked_runs", str(root / "jobs.json")], cwd=ROOT,
                              capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT), "TORCH_HOME": str(root / "torch_home"),
                                   "BACKBONES_CACHE": str(root / "zoo_cache")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    codes = json.loads(proc.stdout.splitlines()[-1])
    return {(entry, kind): (code, Path(job["log"]).read_text(), file, marker)
            for (entry, kind, file, marker), code, job in zip(keys, codes, jobs)}


@pytest.mark.parametrize("kind", ENTRY_KINDS)
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_entry_point_refuses_crafted_checkpoint(entry: str, kind: str, crafted_runs: dict) -> None:
    code, out, crafted, marker = crafted_runs[(entry, kind)]
    assert code != 0, out[-3000:]
    assert not marker.exists(), f"{entry} ran code from {crafted}"
    if entry in LOCAL_ONLY:
        assert f"names {crafted}, which is not a local file" in out, out[-3000:]
    else:
        assert f"checkpoint {crafted}" in out and "refused" in out and REFUSED[kind] in out, out[-3000:]


@pytest.mark.parametrize("kind", ENTRY_KINDS)
@pytest.mark.parametrize("fmt", ["timm", "ff", "deepvit", "eamlp", "eanet"])
def test_convert_refuses_crafted_checkpoint(fmt: str, kind: str, tmp_path: Path, marker: Path, capsys) -> None:  # noqa: ANN001
    from backbones.cli import convert as convert_checkpoint

    crafted = craft(tmp_path / "official.pth", kind, marker)
    assert convert_checkpoint.main([fmt, str(crafted), str(tmp_path / "out.pth")]) == 2
    err = capsys.readouterr().err
    assert f"checkpoint {crafted} refused" in err and REFUSED[kind] in err and "--unsafe-full-unpickle" in err, err
    assert not marker.exists() and not (tmp_path / "out.pth").exists()


def test_convert_reads_official_namespace_and_flag_unpickles_the_rest(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    """An official-style checkpoint (EMA weights + pickled argparse.Namespace) converts with the safe loader;
    another type is refused by name unless --unsafe-full-unpickle is given."""
    from backbones.cli import convert as convert_checkpoint
    from tests.support.official import container, source_model

    fmt, ref = source_model("ff-tiny")
    official = container(fmt, ref.state_dict())  # DeiT-style {'model': ..., 'epoch': ...}
    official["args"] = argparse.Namespace(model="ff_tiny", lr=5e-4, drop_path=0.1)
    torch.save(official, tmp_path / "official.pth")
    assert convert_checkpoint.main([fmt, str(tmp_path / "official.pth"), str(tmp_path / "a.pth")]) == 0
    assert safe_load(tmp_path / "a.pth")["meta"]["arch"] == "ff-tiny"

    official["args"].output_dir = Path("/runs/x")  # a pathlib path: not code, but not allowed either
    torch.save(official, tmp_path / "official.pth")
    assert convert_checkpoint.main([fmt, str(tmp_path / "official.pth"), str(tmp_path / "b.pth")]) == 2
    assert "PosixPath" in capsys.readouterr().err and not (tmp_path / "b.pth").exists()
    assert convert_checkpoint.main([fmt, str(tmp_path / "official.pth"), str(tmp_path / "b.pth"),
                                    "--unsafe-full-unpickle"]) == 0
    help_text = subprocess.run([sys.executable, "tools/convert_checkpoint.py", "--help"], cwd=ROOT, text=True,
                               capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert "arbitrary code" in " ".join(help_text.split())


def test_test_tool_rejects_another_architecture_and_unreadable_files(tmp_path: Path, digits: Path) -> None:  # noqa: F811
    """tools/test.py: a checkpoint of another model names the mismatched keys (exit != 0), --allow-partial
    evaluates anyway; an empty or truncated file is named."""
    cfg = small_config(tmp_path, digits, epochs=1)
    other = classifier_state(digits_config("feedforward"), digits)
    torch.save({"state_dict": other, "meta": {}}, tmp_path / "ff.pth")
    args = ["tools/test.py", str(cfg), str(tmp_path / "ff.pth"), "--work-dir", str(tmp_path / "t")]
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert f"checkpoint {tmp_path / 'ff.pth'} does not fit" in proc.stderr, proc.stderr[-3000:]
    assert "missing keys in source state_dict:" in proc.stderr and "mixer.qkv.weight" in proc.stderr
    assert "--allow-partial" in proc.stderr
    assert "accuracy/top1" in run_tool(*args, "--allow-partial").stdout

    (tmp_path / "empty.pth").write_bytes(b"")
    good = tmp_path / "good.pth"
    torch.save({"state_dict": classifier_state(cfg, digits)}, good)
    (tmp_path / "cut.pth").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    for name, why in (("empty.pth", "is empty (0 bytes)"), ("cut.pth", "cannot be read")):
        proc = subprocess.run([sys.executable, "tools/test.py", str(cfg), str(tmp_path / name), "--work-dir",
                               str(tmp_path / "t")], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode != 0 and f"error: checkpoint {tmp_path / name} {why}" in proc.stderr, proc.stderr[-2000:]


def test_mmpretrain_train_resumes_a_zoo_checkpoint(tmp_path: Path, digits: Path) -> None:  # noqa: F811
    """The shipped config opts in through custom_imports: mmpretrain's own tools/train.py --resume continues a
    run of tools/train.py (message-hub history and all) and keeps the crash-safe checkpoint hook."""
    fixed = "model = dict(head=dict(num_classes=10))\ndata_preprocessor = dict(num_classes=10)"  # no 'auto' there
    cfg = small_config(tmp_path, digits, epochs=2, extra=fixed)
    work = tmp_path / "w"
    run_tool("tools/train.py", str(cfg), "--work-dir", str(work), "--cfg-options", "train_cfg.max_epochs=1")
    first = safe_load(work / "epoch_1.pth")
    proc = subprocess.run([sys.executable, _mmpretrain_train(), str(cfg), "--work-dir", str(work), "--resume"],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "resumed epoch: 1" in out and "Loads checkpoint by local_safe backend" in out, out[-3000:]
    second = safe_load(work / "epoch_2.pth")
    assert second["meta"]["epoch"] == 2 and (work / "last_checkpoint").read_text() == str(work / "epoch_2.pth")
    hub = second["message_hub"]["log_scalars"]["train/loss"]
    assert len(hub._log_history) > len(first["message_hub"]["log_scalars"]["train/loss"]._log_history)
