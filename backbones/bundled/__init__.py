"""The datasets the zoo builds itself from data it ships with (no download): scikit-learn's handwritten digits as
an image folder (:mod:`.digits`), digit scenes for segmentation (:mod:`.digit_scenes`), digits on canvases
in COCO format for detection (:mod:`.digit_detection`), digit pairs that need
token mixing (:mod:`.digit_pairs`), mirrored digits whose halves must agree (:mod:`.digit_mirrors`) and open3d
shapes for point clouds (:mod:`.shapes`). Each builds deterministically into a folder beside its target and renames
it into place; :func:`ensure_data` builds one on first use.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

#: bundled datasets: name -> (default folder, sub-folder the configs read)
DATASETS: dict[str, tuple[str, str]] = {
    "digits": ("data/digits", ""),
    "digit_pairs": ("data/digit_pairs", ""),
    "digit_mirrors": ("data/digit_mirrors", ""),
    "digit_scenes": ("data/digit_scenes", ""),
    "digit_detection": ("data/digit_detection", ""),
    "shapes_cls": ("data/shapes", "modelnet_shapes"),
    "shapes_part": ("data/shapes", "shapenetpart_shapes"),
}


def build_folder(out: Path, settings: dict, writer: Callable[[Path, hashlib._Hash], dict]) -> Path:
    """Build a dataset folder once: kept if its ``dataset.json`` holds the same ``settings``; otherwise
    ``writer(tmp, digest)`` fills a fresh ``<out>.partial`` folder (feeding every written file's bytes to
    ``digest``) and returns the set's description, written with the settings and the digest to ``dataset.json``;
    the folder then replaces ``out`` by a rename, so an interrupted build leaves no partial set in place."""
    marker = out / "dataset.json"
    if marker.exists() and json.loads(marker.read_text()).get("settings") == settings:
        return out
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    digest = hashlib.sha256()
    info = writer(tmp, digest)
    (tmp / "dataset.json").write_text(json.dumps(dict(settings=settings, sha256=digest.hexdigest(), **info),
                                                 indent=2) + "\n")
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


def data_digest(folder: Path) -> str | None:
    """The digest of a built dataset (its ``dataset.json``, or those of its sub-sets); None if it is not built."""
    info = folder / "dataset.json"
    if info.exists():
        return json.loads(info.read_text()).get("sha256")
    digests = sorted(p.read_text() for p in folder.glob("*/dataset.json"))  # shapes: one per sub-set
    return hashlib.sha256("".join(digests).encode()).hexdigest() if digests else None


def builder(dataset: str, digits: Path) -> Callable[[Path], object]:
    """The function that builds ``dataset`` into a folder (the digit pairs from the digits folder ``digits``)."""
    if dataset == "digits":
        from backbones.bundled.digits import prepare
        return prepare
    if dataset == "digit_scenes":
        from backbones.bundled.digit_scenes import prepare
        return prepare
    if dataset == "digit_detection":
        from backbones.bundled.digit_detection import prepare
        return prepare
    if dataset in ("shapes_cls", "shapes_part"):
        from backbones.bundled.shapes import prepare
        return prepare
    if dataset == "digit_pairs":
        from backbones.bundled.digit_pairs import prepare_pairs

        def pairs(folder: Path) -> Path:
            ensure_data("digits", digits, digits)
            return prepare_pairs(folder, digits)
        return pairs
    if dataset == "digit_mirrors":
        from backbones.bundled.digit_mirrors import prepare_mirrors

        def mirrors(folder: Path) -> Path:
            ensure_data("digits", digits, digits)
            return prepare_mirrors(folder, digits)
        return mirrors
    raise KeyError(f"unknown dataset {dataset!r}; valid: {sorted(DATASETS)}")


def ensure_data(dataset: str, folder: Path, digits: Path) -> str | None:
    """Build a bundled dataset in ``folder`` if missing (idempotent: a complete one with the same settings is kept);
    returns its digest (None if it has none). The digit pairs are built from the digits folder ``digits``."""
    builder(dataset, digits)(Path(folder))
    return data_digest(Path(folder))
