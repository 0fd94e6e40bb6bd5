"""Shared fixtures: small deterministic inputs, the repo root, helpers to build configs."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tools/ and tests/ helpers import as top-level modules
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tools" / "analysis"))
torch.set_num_threads(int(os.environ.get("TEST_THREADS", "2")))


@pytest.fixture
def root() -> Path:
    """The repository root."""
    return ROOT


def load_cfg(path: str | Path):  # noqa: ANN201
    """Load a config of the zoo with mmengine (imports ``backbones`` through custom_imports)."""
    from mmengine.config import Config

    return Config.fromfile(str(path))


def build_classifier(cfg):  # noqa: ANN001, ANN201
    """Build a config's model as mmengine's Runner does (see ``backbones.runner.config.build_model``)."""
    from backbones.runner.config import build_model

    return build_model(cfg)
