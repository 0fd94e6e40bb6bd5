"""Load checkpoints through mmengine's CheckpointLoader in a fresh process, after ``import backbones``
(used by tests/unit/engine/test_safe_load_schemes.py).

Usage: python -m tests.support.scheme_loads JOBS.json  ->  prints one JSON line: [[outcome, message], ...] per job.

Before the import, a scheme of another package is registered with a full unpickler (``custom://``, as a third-party
package could), a file backend serves ``custom://`` and ``s3://`` names from a local folder, and a stand-in ``pavi``
module serves ``pavi://`` names from the same folder: every scheme mmengine knows can be exercised without a
network. URLs are served by the test's HTTP server on 127.0.0.1 or from torch hub's cache (``TORCH_HOME``).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import types
from pathlib import Path

import torch
from mmengine.fileio import register_backend
from mmengine.fileio.backends import BaseStorageBackend
from mmengine.runner.checkpoint import CheckpointLoader

STORE = Path(os.environ["CRAFTED_STORE"])


class FolderBackend(BaseStorageBackend):
    """A storage backend that serves ``scheme://bucket/name`` from ``STORE/name``."""

    def __init__(self, **kwargs) -> None:  # noqa: ANN003
        pass

    def get(self, filepath: str) -> bytes:
        return (STORE / Path(str(filepath)).name).read_bytes()

    def get_text(self, filepath: str, encoding: str = "utf-8") -> str:
        return self.get(filepath).decode(encoding)


def unsafe_custom_loader(filename: str, map_location: object = None) -> object:
    return torch.load(STORE / Path(filename).name, map_location=map_location, weights_only=False)


register_backend("petrel", FolderBackend, force=True)
register_backend("custom_store", FolderBackend, prefixes="custom", force=True)
CheckpointLoader.register_scheme(prefixes="custom://", loader=unsafe_custom_loader, force=True)


class _Model:
    def __init__(self, name: str) -> None:
        self.name = name

    def download(self, path: str) -> None:
        shutil.copy(STORE / self.name, path)


sys.modules["pavi"] = types.SimpleNamespace(modelcloud=types.SimpleNamespace(get=_Model))

import backbones  # noqa: E402,F401  (registers the safe loader for every scheme)
from backbones.engine.checkpoint.loaders import unsafe_schemes  # noqa: E402

assert unsafe_schemes() == [], unsafe_schemes()
results = []
for name in json.loads(Path(sys.argv[1]).read_text()):
    try:
        ckpt = CheckpointLoader.load_checkpoint(name, map_location="cpu")
        results.append(["loaded", sorted(ckpt.get("state_dict", ckpt))[:3]])
    except Exception as e:  # noqa: BLE001  (the outcome is the test's to judge)
        results.append([type(e).__name__, str(e)])
print(json.dumps(results))
