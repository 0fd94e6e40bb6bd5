"""Every scheme mmengine's CheckpointLoader accepts reads through the safe loader once ``backbones`` is
imported: every crafted payload (tests/support/crafted.py) through local paths, http:// from a bounded server on
127.0.0.1, https:// and the model-zoo names from the zoo's download cache, open-mmlab:// names from mmengine's
home, s3:// / petrel://, pavi:// and a scheme registered by another package. Nothing runs (the marker files never
appear), every refusal names the checkpoint and the global, a hash in a file name is checked, and a real
checkpoint loads through every scheme."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.support import ROOT, http_server
from tests.support.crafted import REFUSED, craft

SCHEMES = ("local", "http", "https", "open-mmlab", "open-mmlab-home", "s3", "petrel", "pavi", "custom")


@pytest.fixture
def server(tmp_path: Path):  # noqa: ANN201
    """The test's store folder, served on 127.0.0.1 while the test runs."""
    store = tmp_path / "store"
    store.mkdir()
    with http_server(store) as url:
        yield store, url


def hashed(path: Path) -> Path:
    """Rename ``path`` to torch hub's ``stem-<sha256 prefix>.pth``."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return path.rename(path.with_name(f"{path.stem}-{digest}.pth"))


def place(file: Path, url: str, cache: Path) -> Path:
    """Put ``file`` where the zoo's download cache keeps ``url`` (so the URL is never contacted)."""
    from backbones.engine.checkpoint.loaders import cached_path

    path = cached_path(url, str(cache))
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(file, path)
    return path


def names_for(file: Path, key: str, url: str, home: Path, cache: Path, table: dict) -> dict[str, str]:
    """``file`` (in the store) named through every scheme; copies it where the scheme finds it."""
    https_url = f"https://models.invalid/x/https_{file.name}"  # never contacted: the file is in the zoo's cache
    place(file, https_url, cache)
    (home / "ckpts").mkdir(exist_ok=True)
    shutil.copy(file, home / "ckpts" / file.name)
    table[f"url_{key}"] = f"{url}/{file.name}"
    table[f"home_{key}"] = f"ckpts/{file.name}"
    return {"local": str(file), "http": f"{url}/{file.name}", "https": https_url,
            "open-mmlab": f"open-mmlab://url_{key}", "open-mmlab-home": f"openmmlab://home_{key}",
            "s3": f"s3://bucket/{file.name}", "petrel": f"petrel://bucket/{file.name}", "pavi": f"pavi://{file.name}",
            "custom": f"custom://bucket/{file.name}"}


def load_all(names: list[str], store: Path, home: Path, torch_home: Path) -> list:
    jobs = store.parent / "jobs.json"
    jobs.write_text(json.dumps(names))
    env = {**os.environ, "CRAFTED_STORE": str(store), "MMENGINE_HOME": str(home), "TORCH_HOME": str(torch_home),
           "BACKBONES_CACHE": str(torch_home / "zoo"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "tests.support.scheme_loads", str(jobs)], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_every_payload_through_every_scheme(tmp_path: Path, server) -> None:  # noqa: ANN001
    store, url = server
    from mmengine.runner.checkpoint import get_mmcls_models, get_torchvision_models

    from backbones.engine.checkpoint.loaders import cached_path

    home, torch_home = tmp_path / "mmengine_home", tmp_path / "torch_home"
    cache = torch_home / "zoo"  # the zoo's download cache (BACKBONES_CACHE in load_all)
    cache.mkdir(parents=True)
    home.mkdir()
    table: dict[str, str] = {}
    cases = []  # (payload or 'good', scheme, name, marker)
    for kind in [*REFUSED, "good"]:
        marker = tmp_path / f"{kind}.CODE_RAN"
        file = store / f"{kind}.pth"
        if kind == "good":
            torch.save({"state_dict": {"backbone.w": torch.ones(2)}, "meta": {}}, file)
        else:
            craft(file, kind, marker)
        for scheme, name in names_for(hashed(file), kind, url, home, cache, table).items():
            cases.append((kind, scheme, name, marker))
    (home / "open_mmlab.json").write_text(json.dumps(table))
    # names whose hash does not match the file: refused before anything is unpickled
    crafted = next(store.glob("system-*.pth"))
    wrong = store / "system-0123456789.pth"
    shutil.copy(crafted, wrong)
    place(crafted, get_torchvision_models()["resnet18"], cache)  # torchvision://resnet18 and mmcls://vgg11 resolve to
    place(crafted, get_mmcls_models()["vgg11"], cache)             # these URLs, whose names carry hashes
    mismatches = [f"{url}/{wrong.name}", "torchvision://resnet18", "mmcls://vgg11"]

    results = load_all([c[2] for c in cases] + mismatches, store, home, torch_home)
    assert len(results) == len(cases) + len(mismatches)
    assert {c[1] for c in cases} == set(SCHEMES)
    for (kind, scheme, name, marker), (outcome, message) in zip(cases, results):
        assert not marker.exists(), f"{kind} through {scheme} ({name}) ran code"
        if kind == "good":
            assert outcome == "loaded" and message == ["backbone.w"], (scheme, outcome, message)
        else:
            assert outcome == "UnsafeCheckpointError", (kind, scheme, outcome, message)
            assert REFUSED[kind] in message and name.split("://")[-1].split("/")[-1] in message, (kind, scheme, message)
    for name, (outcome, message) in zip(mismatches, results[len(cases):]):
        assert outcome == "CheckpointReadError" and "fails its hash check" in message, (name, outcome, message)
    assert not cached_path(f"{url}/{wrong.name}", str(cache)).exists()  # failing its hash check: not kept
    good = next(store.glob("good-*.pth")).name
    assert cached_path(f"{url}/{good}", str(cache)).is_file()  # http downloads are kept in the zoo's own cache
    assert not (torch_home / "hub").exists()  # and never in torch hub's shared folder
