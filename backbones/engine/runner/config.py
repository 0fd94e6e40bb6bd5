"""Config conveniences applied by tools/train.py and tools/test.py, and the model builder of the tools.

``num_classes='auto'``: a config may leave the number of classes to the training data, so that a
user's own class-per-folder dataset trains by changing only ``data_root``. The count comes from the
training dataset's ``classes`` (a list or a file of names) or, failing that, from the number of class
sub-folders of ``data_root/data_prefix``; it is written into every ``num_classes='auto'`` of the
model and of the data preprocessor.
"""
from __future__ import annotations

import os.path as osp
from typing import Any


def build_model(cfg: Any):  # noqa: ANN201
    """Build a config's model as mmengine's Runner does: the top-level ``data_preprocessor`` merged into
    the model config, built in the config's ``default_scope`` (whose model modules are imported first)."""
    import importlib

    from mmengine.registry import MODELS, DefaultScope

    model_cfg = cfg.model.copy()
    if cfg.get("data_preprocessor") is not None:
        model_cfg.setdefault("data_preprocessor", cfg.data_preprocessor)
    scope = cfg.get("default_scope")
    with DefaultScope.overwrite_default_scope(scope):
        if scope and scope != "mmengine":
            importlib.import_module(f"{scope}.models")  # register the scope's modules
        return MODELS.build(model_cfg)


def _count_classes(dataset: dict) -> int:
    classes = dataset.get("classes") or dataset.get("metainfo", {}).get("classes")
    if isinstance(classes, str):
        if not osp.isfile(classes):
            raise FileNotFoundError(f"classes file {classes} (train_dataloader.dataset.classes) does not exist")
        return len([line for line in open(classes).read().splitlines() if line.strip()])
    if classes:
        return len(classes)
    prefix = dataset.get("data_prefix", "")
    prefix = prefix.get("img_path", "") if isinstance(prefix, dict) else prefix
    folder = osp.join(dataset.get("data_root", ""), prefix)
    if not osp.isdir(folder):
        raise FileNotFoundError(f"num_classes='auto' needs the training folder {folder} (data_root / data_prefix), "
                                f"which does not exist; prepare the data or set num_classes")
    from backbones.utils.folders import class_folders

    n = len(class_folders(folder))
    if n < 2:
        raise ValueError(f"{folder}: {n} class sub-folder(s), so num_classes='auto' cannot be resolved (a classifier "
                         f"needs at least two classes)")
    return n


def _replace_auto(node: Any, n: int | None) -> int:
    """Count the ``num_classes='auto'`` entries under ``node``; replace them by ``n`` unless it is None."""
    hits = 0
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "num_classes" and v == "auto":
                if n is not None:
                    node[k] = n
                hits += 1
            else:
                hits += _replace_auto(v, n)
    elif isinstance(node, (list, tuple)):
        hits += sum(_replace_auto(v, n) for v in node)
    return hits


def resolve_auto_num_classes(cfg: Any) -> int | None:
    """Replace every ``num_classes='auto'`` in ``cfg`` by the training set's class count (returned)."""
    holders = [cfg.get("model", {}), cfg.get("data_preprocessor") or {}]
    if not sum(_replace_auto(h, None) for h in holders):
        return None
    dataset = cfg.train_dataloader.dataset
    while "dataset" in dataset and "data_root" not in dataset:  # wrappers such as RepeatDataset
        dataset = dataset.dataset
    n = _count_classes(dataset)
    for h in holders:
        _replace_auto(h, n)
    return n


#: the pipeline transforms whose sizes follow the input size, and their size keys (mmpretrain's and mmseg's names).
SIZED_TRANSFORMS = {"RandomResizedCrop": ("scale",), "ResizeEdge": ("scale",), "CenterCrop": ("crop_size",),
                    "Resize": ("scale",), "RandomCrop": ("crop_size",), "RandomResize": ("scale",)}


def _scaled(value: Any, ratio: float) -> Any:
    if isinstance(value, (list, tuple)):
        return type(value)(_scaled(v, ratio) for v in value)
    return max(1, round(value * ratio)) if isinstance(value, int) else value


def _pipelines(node: Any) -> list[list]:
    """Every ``pipeline`` list of a config, at any depth (dataloaders, wrapped datasets, top-level variables)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pipeline" and isinstance(value, list):
                found.append(value)
            else:
                found += _pipelines(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            found += _pipelines(value)
    return found


def set_input_size(cfg: Any, size: int) -> list[str]:
    """Train or test an image config at ``size`` x ``size``: every size of its pipelines' resizes and crops
    (:data:`SIZED_TRANSFORMS`) scaled by ``size / img_size`` (a 256-to-224 resize-and-crop stays 8:7), and the
    model's ``backbone.img_size``, the segmentor's preprocessor ``size`` and sliding-window ``crop_size`` / ``stride``
    set with them. ``tools/train.py`` / ``tools/test.py --input-size N``.

    Returns:
        what changed, ``'key: old -> new'`` each.

    Raises:
        ValueError: ``size`` is not positive, or the config has no ``model.backbone.img_size`` (a point-cloud or
            GAN config: its input is not an image resized by a pipeline).
    """
    if size < 1:
        raise ValueError(f"input size {size}: expected a positive number of pixels")
    backbone = (cfg.get("model") or {}).get("backbone") or {}
    current = backbone.get("img_size")
    if current is None:
        raise ValueError("--input-size needs an image config whose model has backbone.img_size (point-cloud and GAN "
                         "configs take no image input size)")
    current = current[0] if isinstance(current, (list, tuple)) else current
    ratio, changed = size / current, []
    backbone["img_size"] = size
    changed.append(f"model.backbone.img_size: {current} -> {size}")
    seen: set[int] = set()  # a pipeline named twice (a variable and its dataloader's copy) is scaled once
    for pipeline in _pipelines({key: cfg[key] for key in cfg.keys()}):
        for step in pipeline:
            if not isinstance(step, dict) or id(step) in seen:
                continue
            seen.add(id(step))
            for key in SIZED_TRANSFORMS.get(step.get("type"), ()):
                if key in step:
                    old, step[key] = step[key], _scaled(step[key], ratio)
                    changed.append(f"{step['type']}.{key}: {old} -> {step[key]}")
    model = cfg.get("model") or {}
    for owner, key in ((model.get("data_preprocessor"), "size"), (cfg.get("data_preprocessor"), "size"),
                       (model.get("test_cfg"), "crop_size"), (model.get("test_cfg"), "stride")):
        if isinstance(owner, dict) and owner.get(key) is not None:
            old, owner[key] = owner[key], _scaled(owner[key], ratio)
            changed.append(f"{key}: {old} -> {owner[key]}")
    return changed
