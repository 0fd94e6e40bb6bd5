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
    from backbones.engine.folders import class_folders

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
