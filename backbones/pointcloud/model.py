"""The point-cloud task model (mmengine ``BaseModel``) and its data preprocessor.

``PointCloudModel(backbone, head)`` serves classification and part segmentation alike: the head
decides the task (:mod:`backbones.pointcloud.heads`). Batches come from :class:`PackPointInputs`:
``inputs`` a list of (N, C) tensors, ``data_samples`` a list of ``BaseDataElement``.
"""
from __future__ import annotations

from typing import Any

import torch
from mmengine.model import BaseDataPreprocessor, BaseModel
from mmengine.registry import MODELS
from mmengine.structures import BaseDataElement

from backbones.engine.checkpoint.pretrained import SafePretrainedMixin


@MODELS.register_module()
class PointDataPreprocessor(BaseDataPreprocessor):
    """Stack a list of (N, C) point tensors into (B, N, C) on the model's device, as float32.

    Raises:
        ValueError: the clouds of a batch have different shapes (the message names their files).
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        """``dict(inputs=[(N, C)] * B, data_samples=[...])`` -> ``dict(inputs=(B, N, C), data_samples=...)``."""
        data = self.cast_data(data)
        inputs, samples = data["inputs"], data.get("data_samples")
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(t.shape) for t in inputs}
            if len(shapes) > 1:
                files = [s.get("points_path", "?") for s in samples or []]
                raise ValueError(f"point clouds of different shapes {sorted(shapes)} in one batch ({files}); "
                                 f"put a PointSample transform with a fixed num_points in the pipeline")
            inputs = torch.stack(list(inputs))
        return dict(inputs=inputs.float(), data_samples=samples)


@MODELS.register_module()
class PointCloudModel(SafePretrainedMixin, BaseModel):
    """Backbone + task head over point clouds.

    Args:
        backbone: config of the backbone (e.g. ``PointMixerBackbone``), points (B, N, C) -> features.
        head: config of the head (``PointClsHead`` or ``PointPartSegHead``); ``in_channels`` is filled in
            from the backbone's ``out_channels`` times the head's ``in_channels_factor`` when omitted.
        data_preprocessor: defaults to :class:`PointDataPreprocessor`.
        init_cfg: mmengine initialisation config.
    """

    def __init__(self, backbone: dict, head: dict, data_preprocessor: dict | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor or dict(type="PointDataPreprocessor"), init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        head = dict(head)
        if "in_channels" not in head:
            cls = MODELS.get(head["type"]) if isinstance(head["type"], str) else head["type"]
            head["in_channels"] = self.backbone.out_channels * getattr(cls, "in_channels_factor", 1)
        self.head = MODELS.build(head)

    def forward(self, inputs: torch.Tensor, data_samples: list[BaseDataElement] | None = None,
                mode: str = "tensor") -> Any:
        """``mode='loss'``: dict of losses; ``'predict'``: samples with predictions; ``'tensor'``: logits."""
        feats = self.backbone(inputs)
        if mode == "loss":
            return self.head.loss(feats, data_samples)
        if mode == "predict":
            return self.head.predict(feats, data_samples)
        if mode == "tensor":
            return self.head(feats, data_samples)
        raise ValueError(f"PointCloudModel: invalid mode {mode!r} (loss, predict or tensor)")
