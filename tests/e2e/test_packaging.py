"""The package alone does every job: a wheel built from the checkout, installed into a fresh folder and used from
outside the checkout, lists and builds models by name, locates and inherits a shipped config, and trains, tests and
exports the main digits model through the tools it carries; and the layers of the code are enforced by
import-linter, which fails on a reversed import."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import ROOT

MAIN = "classification/digits/mixervit_selfattention-p4-w96-d4_1xb64-40e_digits-32px.py"
#: what a wheel build needs from the checkout (the lab and the tests are not part of it)
SOURCES = ["setup.py", "pyproject.toml", "README.md", "model-index.yml", "backbones", "backbones_cli", "configs",
           "tools"]


def run(args: list[str], cwd: Path, env: dict, timeout: int = 900) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{args}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:  # noqa: ANN001
    """The wheel, installed (without dependencies: the test's environment has them) into a fresh folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / name)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "dist"),
         str(src)], cwd=tmp, env=env)
    wheel = next((tmp / "dist").glob("backbones-*.whl"))
    site = tmp / "site"
    run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)], cwd=tmp,
        env=env)
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return dict(wheel=wheel, site=site, cwd=elsewhere, env={**env, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "2"})


def py(installed: dict, code: str) -> str:
    """Run ``code`` in a fresh process that imports the installed package (asserted), from outside the checkout."""
    check = f"import backbones, sys; assert backbones.__file__.startswith({str(installed['site'])!r}), " \
            f"backbones.__file__\n"
    return run([sys.executable, "-c", check + code], cwd=installed["cwd"], env=installed["env"])


def test_the_wheel_carries_configs_tools_and_the_model_index(installed: dict) -> None:
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    assert "backbones/.mim/model-index.yml" in names
    assert f"backbones/.mim/configs/{MAIN}" in names
    assert "backbones/.mim/configs/_base_/default_runtime.py" in names
    for tool in ("train.py", "test.py", "dist_train.sh", "dist_test.sh", "deploy/export.py", "convert_checkpoint.py",
                 "analysis/benchmark.py", "analysis/get_flops.py",
                 "infer_points.py", "data/prepare_digits.py"):
        assert f"backbones/.mim/tools/{tool}" in names, tool
    assert not any(n.startswith(("lab/", "tests/")) for n in names)
    for script in ("run.sh", "setup_env.sh"):  # they set up a checkout's .venv: not for site-packages
        assert f"backbones/.mim/tools/{script}" not in names, script
    assert "backbones_cli/__init__.py" in names
    assert "backbones/.mim/configs/collections.yml" in names  # the metafiles' collections (mim search reads them)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(installed["wheel"]).read(entry_points).decode()
    for command in ("train", "test", "export", "convert", "infer-points", "benchmark"):
        assert f"backbones-{command} = backbones_cli:{command.replace('-', '_')}" in text, command
    assert "backbones-configs = backbones_cli.configs:cli" in text
    assert "backbones-prepare-data = backbones_cli.prepare_data:cli" in text


def test_models_by_name_from_the_installed_wheel(installed: dict) -> None:
    out = py(installed, """
import mmpretrain, torch
names = mmpretrain.list_models('eamlp*')
model = mmpretrain.get_model('vit-tiny')
print(sorted(names), type(model.backbone).__name__, sum(p.numel() for p in model.parameters()))
fast = backbones.convert_to_deploy(backbones.MixerViT('eamlp-7').eval())
print(tuple(fast(torch.randn(2, 3, 224, 224))[0].shape))
""")
    assert "['eamlp-14', 'eamlp-19', 'eamlp-24', 'eamlp-7'] MixerViT 5717416" in out
    index = py(installed, """
import backbones.mim
from modelindex.load_model_index import load
index = load(str(backbones.mim.MIM / 'model-index.yml'))  # as openmim's `mim search backbones` reads it
names = {c.name for c in index.collections}
print('collections', len(names), all(m.in_collection in names for m in index.models if m.in_collection))
""")
    assert "collections" in index and index.split()[-1] == "True" and int(index.split()[-2]) >= 5, index
    assert "(2, 256)" in out  # eamlp-7: width 256


def test_a_downstream_config_inherits_a_shipped_one(installed: dict) -> None:
    """The path route: ``backbones.cli.configs`` locates the shipped config; a user's config names it in ``_base_``,
    and ``custom_imports=['backbones']`` alone registers everything it needs."""
    path = run([sys.executable, "-m", "backbones.cli.configs", "path", Path(MAIN).name], cwd=installed["cwd"],
               env=installed["env"]).strip()
    assert path.startswith(str(installed["site"])) and path.endswith(Path(MAIN).name)
    mine = installed["cwd"] / "mine.py"
    mine.write_text(f"_base_ = [{path!r}]\ncustom_imports = dict(imports=['backbones'])\n"
                    f"model = dict(backbone=dict(mixer='ExternalAttention'))\n")
    out = py(installed, f"""
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS, MODELS
cfg = Config.fromfile({str(mine)!r})
with DefaultScope.overwrite_default_scope(cfg.default_scope):
    model = MODELS.build(cfg.model)
    dataset = DATASETS.get(cfg.train_dataloader.dataset.type)
print(type(model.backbone.blocks[0].mixer).__name__, dataset.__name__)
""")
    assert "ExternalAttention ImageFolderDataset" in out


def test_main_job_trains_tests_and_exports_through_the_installed_tools(installed: dict) -> None:
    tools = installed["site"] / "backbones" / ".mim" / "tools"
    cwd, env = installed["cwd"], installed["env"]
    run([sys.executable, str(tools / "data" / "prepare_digits.py"), "data/digits"], cwd=cwd, env=env)
    config = installed["site"] / "backbones" / ".mim" / "configs" / MAIN
    work = cwd / "work"
    out = run([sys.executable, str(tools / "train.py"), str(config), "--work-dir", str(work), "--cfg-options",
               "train_cfg.max_epochs=1", "train_cfg.val_interval=1"], cwd=cwd, env=env)
    assert "Epoch(val) [1]" in out, out[-2000:]
    ckpt = work / "epoch_1.pth"
    assert ckpt.is_file()
    out = run([sys.executable, str(tools / "test.py"), str(config), str(ckpt), "--deploy", "--precision", "int8",
               "--calibrate", "2"], cwd=cwd, env=env)  # the deploy form, int8, calibrated on the train loader
    assert "accuracy/top1" in out and "17 Linears int8 (0 left in float; activation scales calibrated" in out
    onnx = cwd / "main.onnx"
    out = run([sys.executable, str(tools / "deploy" / "export.py"), str(config), str(ckpt), "--format", "onnx",
               "--deploy", "--precision", "int8", "--out", str(onnx)], cwd=cwd, env=env)
    assert "17 of its 17 weighted products quantized" in out and onnx.stat().st_size > 50_000


def test_a_user_config_with_a_plain_import_runs_under_openmmlab_own_test_tool(installed: dict) -> None:
    """A user's config naming only ``custom_imports=['backbones']`` trains with the zoo's tool, and mmpretrain's own
    ``tools/test.py`` (from its wheel) reads the checkpoint it wrote (mmengine's message hub, numpy values: refused by
    torch's weights-only default without the zoo's loader); a crafted checkpoint through the same tool is refused and
    runs no code."""
    from tests.support.crafted import craft
    from tests.support.openmmlab import wheel_tools

    cwd, env = installed["cwd"], installed["env"]
    tools = installed["site"] / "backbones" / ".mim" / "tools"
    run([sys.executable, str(tools / "data" / "prepare_digits.py"), "plain/digits"], cwd=cwd, env=env)
    base = installed["site"] / "backbones" / ".mim" / "configs" / MAIN
    mine = cwd / "plain.py"
    mine.write_text("\n".join([
        f"_base_ = [{str(base)!r}]",
        "custom_imports = dict(imports=['backbones'], allow_failed_imports=False)",
        "data_root = 'plain/digits'",
        "train_dataloader = dict(dataset=dict(data_root=data_root, indices=64))",
        "val_dataloader = dict(dataset=dict(data_root=data_root, indices=32))",
        "test_dataloader = val_dataloader",
        "train_cfg = dict(max_epochs=1, val_interval=1)", ""]))
    run([sys.executable, "-m", "backbones.cli.train", str(mine), "--work-dir", "plain_work"], cwd=cwd, env=env)
    ckpt = cwd / "plain_work" / "epoch_1.pth"
    out = run([sys.executable, str(wheel_tools("mmpretrain") / "test.py"), str(mine), str(ckpt), "--work-dir",
               "plain_test"], cwd=cwd, env=env)
    assert "accuracy/top1" in out, out[-3000:]
    marker = cwd / "CODE_RAN"
    crafted = craft(cwd / "crafted.pth", "system", marker, state=None)
    proc = subprocess.run([sys.executable, str(wheel_tools("mmpretrain") / "test.py"), str(mine), str(crafted),
                           "--work-dir", "plain_test"], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0 and "crafted.pth refused: it needs posix.system" in proc.stderr, proc.stderr[-3000:]
    assert not marker.exists()


LINT_PROBES = {
    "the library imports the lab": ("backbones/models/vit.py", "import lab.runs.runs  # probe\n",
                                    "the lab imports the library, never the reverse BROKEN"),
    "a task imports another task": ("backbones/segmentation/datasets.py",
                                    "import backbones.pointcloud.io  # probe\n", "library layers"),
    "models import a task": ("backbones/models/block.py", "import backbones.classification  # probe\n",
                             "library layers"),
    "models import the deploy pipeline": ("backbones/models/block.py", "import backbones.deploy.precision  # probe\n",
                                          "library layers"),
    "two modules import each other": ("backbones/pointcloud/file_layout.py",
                                      "import backbones.pointcloud.io  # probe\n", "no circle"),
    "the console commands import the library": ("backbones_cli/parsers.py", "import backbones.models  # probe\n",
                                                "the console commands parse without the library"),
}


def test_import_contracts_hold() -> None:
    out = run([str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT, env=dict(os.environ))
    assert "0 broken" in out and "KEPT" in out


@pytest.mark.parametrize("case", sorted(LINT_PROBES))
def test_import_contracts_catch_a_reversed_import(case: str, tmp_path: Path) -> None:
    """A copy of the code with one reversed import breaks a contract (the same contracts, from pyproject.toml)."""
    for name in ("backbones", "backbones_cli", "lab"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", ".mim"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    file, line, broken = LINT_PROBES[case]
    target = tmp_path / file
    target.write_text(target.read_text() + "\n" + line)
    proc = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=tmp_path, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(tmp_path)}, timeout=300)
    assert proc.returncode != 0 and broken in proc.stdout, proc.stdout[-3000:]
