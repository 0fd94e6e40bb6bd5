"""Every config of the zoo loads and builds its model without any dataset on disk, complete as shipped (nothing
left for our tools to fill in); model-index.yml and its metafiles agree with the configs and presets."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from backbones import PRESETS
from backbones.converters.formats import FAMILIES
from tests.support import ROOT, build_classifier, load_cfg

CONFIGS = sorted(p for p in (ROOT / "configs").rglob("*.py") if "_base_" not in p.parts)
METAFILES = yaml.safe_load((ROOT / "model-index.yml").read_text())["Import"]
INDEX = [m for f in METAFILES for m in yaml.safe_load((ROOT / f).read_text())["Models"]]


def test_configs_were_collected() -> None:
    assert len(CONFIGS) >= len(PRESETS)


def test_model_index_lists_every_config_and_preset() -> None:
    listed = {m["Config"] for m in INDEX}
    assert {str(p.relative_to(ROOT)) for p in CONFIGS} <= listed
    assert all((ROOT / c).exists() for c in listed)
    assert set(PRESETS) <= {m["Name"] for m in INDEX}
    for f in METAFILES:  # each task's metafile lists that task's configs
        task = Path(f).parent
        assert all(Path(m["Config"]).parent.parent == task for m in yaml.safe_load((ROOT / f).read_text())["Models"])
    for m in INDEX:
        if m["Name"] in PRESETS:
            assert m["Metadata"]["Parameters"] == PRESETS[m["Name"]]["params"]


def test_model_index_metadata_of_every_preset() -> None:
    """Paper (through the collection), parameters, FLOPs, config and converter format, as modelindex reads them."""
    from modelindex.load_model_index import load

    index = load(str(ROOT / "model-index.yml"))
    assert not index.check_errors
    models = {m.name: m for m in index.models}
    assert len(models) == len(INDEX)
    for name in PRESETS:
        full = models[name].full_model
        assert full.paper["URL"].startswith("https://arxiv.org/abs/") and full.paper["Title"], name
        assert full.metadata.parameters == PRESETS[name]["params"]
        assert isinstance(full.metadata.flops, int) and 1e9 < full.metadata.flops < 3e10, name
        assert (ROOT / full.config).is_file()
        fmt = full.data["Converted From"]["Format"]
        assert name in FAMILIES[fmt], f"{name}: converter format {fmt!r} does not convert to it"
        assert f"convert_checkpoint.py {fmt} " in full.data["Converted From"]["Command"]


@pytest.mark.parametrize("name", ["vit-tiny", "eamlp-7", "ff-tiny"])
def test_model_index_flops_are_the_counted_ones(name: str) -> None:
    """FLOPs = multiply-accumulates of one 224 px image through backbone and 1000-class head
    (tools/analysis/get_flops.py --presets counts them the same way)."""
    import torch

    from backbones import MixerViT
    from backbones.apis.inspection import flops_of

    entry = next(m for m in INDEX if m["Name"] == name)
    bb = MixerViT(name).eval()
    head = torch.nn.Linear(bb.embed_dims, 1000)
    assert flops_of(bb, (224, 224), lambda x: head(bb(x)[-1])) // 2 == entry["Metadata"]["FLOPs"]


def _values(node, key: str) -> list:  # noqa: ANN001
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == key] + [x for v in node.values() for x in _values(v, key)]
    if isinstance(node, (list, tuple)):
        return [x for v in node for x in _values(v, key)]
    return []


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT / "configs")))
def test_config_builds(path: Path) -> None:
    """As shipped: no num_classes='auto' (only our tools resolve it), the model builds as the Runner builds it."""
    cfg = load_cfg(path)
    assert "auto" not in _values(cfg.to_dict(), "num_classes"), f"{path}: num_classes='auto' in a shipped config"
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


NAME = re.compile(r"^(?P<model>[a-z0-9]+)_(?P<backbone>[a-z0-9.-]+)_(?P<procs>\d+)xb(?P<batch>\d+)-(?P<length>\d+)"
                  r"(?P<unit>[ek])_(?P<dataset>[a-z0-9-]+)-(?P<input>\d+px|\d+x\d+|\d+pts)\.py$")
MODELS = {"mixervit": "ImageClassifier", "upernet": "EncoderDecoder", "eanet": "EncoderDecoder",
          "pct": "PointCloudModel", "sagan": "ConditionalGAN", "sngan": "ConditionalGAN", "fcos": "FCOS",
          "maskrcnn": "MaskRCNN"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_name_follows_the_scheme(path: Path) -> None:
    """configs/README.md: {model}_{backbone}_{N}xb{B}-{schedule}_{dataset}-{input}.py, and the name says what the
    config holds: the model, the batch per process, the schedule's length, the mixer or the preset."""
    from backbones import MIXERS
    from lab.runs.tables import mixer_slug

    m = NAME.match(path.name)
    assert m, f"{path.name} does not follow configs/README.md's naming scheme"
    cfg = load_cfg(path)
    assert cfg.model.type == MODELS[m["model"]], (path.name, cfg.model.type)
    assert cfg.train_dataloader.batch_size == int(m["batch"])
    length = int(m["length"]) * (1000 if m["unit"] == "k" else 1)
    assert cfg.train_cfg.get("max_iters" if m["unit"] == "k" else "max_epochs") == length
    slugs = {mixer_slug(name): name for name in MIXERS}
    first = m["backbone"].split("-")[0]
    if cfg.model.type == "ConditionalGAN":  # the mixer of the attention block of both networks ('none': no block)
        specs = [(net.get("attention") or {}).get("mixer") for net in (cfg.model.generator, cfg.model.discriminator)]
        mixers = {s if s is None or isinstance(s, str) else s["type"] for s in specs}  # a name or dict(type=...)
        assert mixers == {None if first == "none" else slugs[first]}, f"{path.name} names {first!r}, has {mixers}"
        return
    backbone = cfg.model.backbone
    if backbone.type in ("MixerViT", "PointMixerBackbone") and first in slugs:
        mixer = backbone.get("mixer") or backbone.arch.get("mixer")
        assert mixer == slugs[first], f"{path.name} names mixer {first!r}, its config has {mixer!r}"
    elif backbone.type == "MixerViT" and isinstance(backbone.arch, str):
        assert m["backbone"].startswith(backbone.arch), f"{path.name} names {m['backbone']!r}, arch {backbone.arch!r}"
