"""The suite's fixtures (its shared helpers: :mod:`tests.support`): the repository root and the bundled digits,
prepared once per session; torch's thread count from ``TEST_THREADS`` (default 2)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from tests.support import ROOT

torch.set_num_threads(int(os.environ.get("TEST_THREADS", "2")))


@pytest.fixture
def root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture(scope="session")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled digits set (class folders, train / val / test), prepared once per session."""
    from backbones.bundled.digits import prepare

    return prepare(tmp_path_factory.mktemp("data") / "digits")
