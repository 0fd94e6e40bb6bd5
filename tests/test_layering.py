"""The package's imports point one way: tools -> task packages -> backbones -> blocks -> mixers -> layers ->
foundations (folds, checkpoint I/O). Every import in ``backbones/`` (module level or inside a function) is
read with ``ast`` and must not reach a higher layer; only the package's face (``backbones/__init__.py``)
imports from everywhere."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

#: layers from the bottom; a module belongs to the longest matching prefix
LAYERS = [
    ("foundations", ["backbones.deploy.base", "backbones.deploy.fold", "backbones.deploy.convert",
                     "backbones.deploy.compile", "backbones.deploy.export", "backbones.checkpoint",
                     "backbones.flop_count", "backbones.presets", "backbones.optim.amp"]),
    ("layers", ["backbones.layers"]),
    ("mixers", ["backbones.mixers"]),
    ("blocks", ["backbones.block"]),
    ("backbones", ["backbones.stems", "backbones.vit", "backbones.attention_maps", "backbones.reference",
                   "backbones.optim"]),
    ("tasks", ["backbones.seg", "backbones.points", "backbones.datasets", "backbones.converters", "backbones.runner",
               "backbones.bundled", "backbones.benchmark",
               "backbones.deploy.hook", "backbones.study", "backbones.model_index", "backbones.safe_loading",
               "backbones.cli"]),
    ("face", ["backbones"]),
]


def level(module: str) -> tuple[int, str]:
    """(rank, layer name) of a ``backbones`` module by its longest matching prefix."""
    best = (-1, -1, "")
    for rank, (name, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best[0]:
                best = (len(p), rank, name)
    assert best[0] >= 0, f"{module} is in no layer of tests/test_layering.py"
    return best[1], best[2]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every ``backbones`` import in a file, relative ones resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "backbones"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "backbones":
                # ``from pkg import module`` imports the module: judge the deepest name that is one
                found += [(node.lineno, f"{target}.{a.name}" if _is_module(f"{target}.{a.name}") else target)
                          for a in node.names]
    return found


def _is_module(name: str) -> bool:
    path = ROOT / Path(*name.split("."))
    return path.with_suffix(".py").exists() or path.is_dir()


FILES = sorted((ROOT / "backbones").rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    assert len(FILES) > 50
    for path in FILES:
        level(module_name(path))


@pytest.mark.parametrize("layer", [name for name, _ in LAYERS[:-1]])
def test_imports_point_down(layer: str) -> None:
    upward = []
    for path in FILES:
        src_rank, src_layer = level(module_name(path))
        if src_layer != layer:
            continue
        for line, target in imports(path):
            dst_rank, dst_layer = level(target)
            if dst_rank > src_rank:
                upward.append(f"{path.relative_to(ROOT)}:{line} ({src_layer}) imports {target} ({dst_layer})")
    assert upward == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The reader resolves relative imports: a mixer importing the block module would be caught."""
    fake = ROOT / "backbones" / "mixers" / "_layering_probe.py"
    try:
        fake.write_text("from ..block import Block\n\n\ndef f():\n    from .. import vit\n")
        found = imports(fake)
    finally:
        fake.unlink()
    assert found == [(1, "backbones.block"), (5, "backbones.vit")]
    assert [level(t)[1] for _, t in found] == ["blocks", "backbones"]
