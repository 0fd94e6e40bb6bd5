"""Point-cloud metrics (root ``METRICS``): classification accuracy and ShapeNetPart part mIoU.

Part segmentation follows the benchmark's rule: a shape's IoU is the mean, over the parts of its
category, of |pred = p and label = p| / |pred = p or label = p|, where a part absent from both the
prediction and the label counts 1. Instance mIoU averages over shapes; class mIoU averages the
per-category means.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS


def _np(x) -> np.ndarray:  # noqa: ANN001
    return x.cpu().numpy() if hasattr(x, "cpu") else np.asarray(x)


def shape_iou(pred: np.ndarray, label: np.ndarray, parts: Sequence[int]) -> float:
    """Mean IoU of one shape over its category's ``parts`` (absent from both: IoU 1).

    Args:
        pred: (N,) predicted part per point.
        label: (N,) true part per point.
        parts: the part ids of the shape's category.
    """
    ious = []
    for p in parts:
        inter = np.sum((pred == p) & (label == p))
        union = np.sum((pred == p) | (label == p))
        ious.append(1.0 if union == 0 else inter / union)
    return float(np.mean(ious))


@METRICS.register_module()
class PointAccuracy(BaseMetric):
    """Overall accuracy (``OA``) and mean per-class accuracy (``mAcc``), in percent.

    Args:
        collect_device / prefix: as :class:`mmengine.evaluator.BaseMetric`.
    """

    default_prefix = "point"

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:  # noqa: ANN001
        for s in data_samples:
            self.results.append((int(_np(s["pred_label"])), int(_np(s["gt_label"]))))

    def compute_metrics(self, results: list) -> dict[str, float]:
        pred, gt = np.array(results).T
        classes = np.unique(gt)
        per_class = [np.mean(pred[gt == c] == c) for c in classes]
        return dict(OA=100.0 * float(np.mean(pred == gt)), mAcc=100.0 * float(np.mean(per_class)))


@METRICS.register_module()
class PartSegMIoU(BaseMetric):
    """Instance mIoU (``ins_mIoU``) and class mIoU (``cls_mIoU``), in percent, plus one ``mIoU_<category>``
    per category present (names from the dataset's ``classes``).
    """

    default_prefix = "part"

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:  # noqa: ANN001
        for s in data_samples:
            pred, label, parts = _np(s["pred_parts"]), _np(s["gt_parts"]), _np(s["parts"]).tolist()
            self.results.append((int(s["category"]), shape_iou(pred, label, parts)))

    def compute_metrics(self, results: list) -> dict[str, float]:
        cats = np.array([c for c, _ in results])
        ious = np.array([i for _, i in results])
        names = (self.dataset_meta or {}).get("classes")
        out = dict(ins_mIoU=100.0 * float(ious.mean()))
        per_cat = {}
        for c in np.unique(cats):
            name = names[c] if names is not None and c < len(names) else str(c)
            per_cat[name] = 100.0 * float(ious[cats == c].mean())
        out["cls_mIoU"] = float(np.mean(list(per_cat.values())))
        out.update({f"mIoU_{k}": v for k, v in per_cat.items()})
        return out
