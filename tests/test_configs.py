"""Every config of the zoo loads and builds its model without any dataset on disk; model-index agrees."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import ROOT, build_classifier, load_cfg
from test_classification_e2e import digits  # noqa: F401  (fixture)

from backbones import PRESETS

CONFIGS = sorted(p for p in (ROOT / "configs").rglob("*.py") if "_base_" not in p.parts)
INDEX = yaml.safe_load((ROOT / "model-index.yml").read_text())["Models"]


def test_configs_were_collected() -> None:
    assert len(CONFIGS) >= len(PRESETS)


def test_model_index_lists_every_config_and_preset() -> None:
    listed = {m["Config"] for m in INDEX}
    assert {str(p.relative_to(ROOT)) for p in CONFIGS} <= listed
    assert all((ROOT / c).exists() for c in listed)
    assert set(PRESETS) <= {m["Name"] for m in INDEX}
    for m in INDEX:
        if m["Name"] in PRESETS:
            assert m["Metadata"]["Parameters"] == PRESETS[m["Name"]]["params"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT / "configs")))
def test_config_builds(path: Path, digits) -> None:  # noqa: ANN001, F811
    from backbones.engine.config import resolve_auto_num_classes

    cfg = load_cfg(path)
    if "train_dataloader" in cfg and cfg.train_dataloader.dataset.get("data_root") == "data/digits":
        cfg.train_dataloader.dataset.data_root = str(digits)  # num_classes='auto' reads the class folders
    resolve_auto_num_classes(cfg)
    model = build_classifier(cfg)
    n = sum(p.numel() for p in model.parameters())
    entry = next((m for m in INDEX if m["Config"] == str(path.relative_to(ROOT))), None)
    if entry is not None and entry["Name"] in PRESETS:
        assert n == PRESETS[entry["Name"]]["params"]
    if entry is not None and "Parameters" in entry.get("Metadata", {}):
        assert n == entry["Metadata"]["Parameters"], f"model-index.yml: {entry['Name']} lists stale Parameters"
    from mmengine.registry import HOOKS, DefaultScope

    with DefaultScope.overwrite_default_scope(cfg.get("default_scope", "mmengine")):  # restored afterwards
        for hook in cfg.get("custom_hooks", []):  # every custom hook type resolves and takes its arguments
            HOOKS.build(dict(hook))
