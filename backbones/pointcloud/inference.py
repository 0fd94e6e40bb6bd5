"""Inference on any point or mesh file open3d (or numpy) reads, with a trained point-cloud config.

>>> model = init_point_model('configs/pointcloud/shapes/pct-offsetattention_...-cls.py', 'epoch_15.pth')
>>> [s.pred_label for s in inference_points(model, ['chair.off', 'scan.ply'])]

Files carry no labels: the config's test pipeline is used with its label reading switched off. For part
segmentation the object category must be given (name or index); its parts come from the checkpoint's
``dataset_meta`` (saved by mmengine's Runner).
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import torch
from mmengine.structures import BaseDataElement


def init_point_model(config: str | Path, checkpoint: str | Path | None = None, device: str = "cpu"):  # noqa: ANN201
    """Build a config's model, load a checkpoint (keeps its ``dataset_meta``), eval mode."""
    from mmengine.config import Config

    from backbones.engine.checkpoint.pretrained import load_checkpoint_into
    from backbones.engine.runner.config import build_model
    from backbones.pointcloud import datasets  # noqa: F401  (registers the point modules)

    cfg = Config.fromfile(str(config))
    model = build_model(cfg)
    model.cfg, model.dataset_meta = cfg, {}
    if checkpoint is not None:
        ckpt = load_checkpoint_into(model, checkpoint)
        model.dataset_meta = ckpt.get("meta", {}).get("dataset_meta", {}) or {}
    return model.to(device).eval()


def inference_points(model, files: Sequence[str | Path], category: str | int | None = None,  # noqa: ANN001
                     batch_size: int = 16) -> list[BaseDataElement]:
    """Predict every file; returns data samples with ``pred_label`` / ``pred_score`` or ``pred_parts``, and
    ``points_xyz`` (N, 3), the points the model saw.

    Raises:
        ValueError: part segmentation without a category, or an unknown category.
    """
    from mmengine.dataset import Compose, pseudo_collate

    pipeline = copy.deepcopy(model.cfg.test_dataloader.dataset.pipeline)
    for t in pipeline:
        if t["type"] == "LoadPointCloud":
            t.update(columns=None, with_part_labels=False)
    pipeline = Compose(pipeline)
    extra = {}
    if hasattr(model.head, "num_categories"):
        meta = model.dataset_meta or {}
        names, table = list(meta.get("classes", [])), meta.get("category_parts", {})
        if category is None:
            raise ValueError(f"part segmentation needs the object category (one of {names})")
        index = names.index(category) if isinstance(category, str) and category in names else category
        if not isinstance(index, int) or not 0 <= index < len(names):
            raise ValueError(f"unknown category {category!r}; categories: {names}")
        extra = dict(category=index, parts=table[names[index]], category_name=names[index])
    out: list[BaseDataElement] = []
    for i in range(0, len(files), batch_size):
        batch = pseudo_collate([pipeline(dict(points_path=str(f), **extra)) for f in files[i:i + batch_size]])
        with torch.no_grad():
            preds = model.test_step(batch)
        for s, pts in zip(preds, batch["inputs"]):
            s.points_xyz = pts[:, :3].numpy()  # the points the model saw (after the test pipeline)
        out.extend(preds)
    return out
