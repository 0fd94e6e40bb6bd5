"""OpenMMLab's own tools as a user runs them: the ``tools/`` folder inside an installed mmpretrain / mmseg wheel,
a tool run from the repository root with this checkout importable, the data-root overrides of a config."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

SPLITS = ("train", "val", "test")


def wheel_tools(package: str) -> Path:
    """The tools/ folder shipped inside an installed OpenMMLab wheel (``<package>/.mim/tools``)."""
    import importlib

    return Path(importlib.import_module(package).__file__).parent / ".mim" / "tools"


def openmmlab_tool(package: str, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``python <package>/.mim/tools/<tool> ARGS`` from the repository root, this checkout importable."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.run([sys.executable, str(wheel_tools(package) / tool), *args], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def data_options(root: Path | str, splits: tuple[str, ...] = SPLITS) -> list[str]:
    """``--cfg-options`` entries: the data root of each split, loaders in-process (no workers)."""
    return [f"{s}_dataloader.{kv}" for s in splits
            for kv in (f"dataset.data_root={root}", "num_workers=0", "persistent_workers=False")]
