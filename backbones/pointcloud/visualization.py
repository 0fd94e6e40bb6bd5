"""PNG renderings of point clouds and their predictions (matplotlib 3D scatter, Agg: works headless).

:class:`PointCloudVisualizationHook` renders test predictions; ``tools/test.py --show-dir DIR`` turns
it on through its ``enable`` / ``draw`` / ``out_dir`` / ``interval`` arguments.
"""
from __future__ import annotations

import os
import os.path as osp
from collections.abc import Sequence

import numpy as np
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def render_points(path: str, panels: Sequence[tuple[np.ndarray, np.ndarray | None, str]], up: int = 1,
                  size: float = 4.0) -> str:
    """Write one PNG with a 3D scatter per panel.

    Args:
        path: output PNG.
        panels: ``(xyz (N, 3), labels (N,) or None, title)``; points are coloured by label (tab20).
        up: the up axis of the data (1: y-up, as ModelNet / ShapeNetPart), drawn vertically.
        size: inches per panel.

    Returns:
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from backbones.utils.files import write_atomic

    fig = plt.figure(figsize=(size * len(panels), size))
    order = [a for a in range(3) if a != up] + [up]
    for i, (xyz, labels, title) in enumerate(panels, 1):
        ax = fig.add_subplot(1, len(panels), i, projection="3d")
        x, y, z = (xyz[:, a] for a in order)
        colours = "tab:blue" if labels is None else plt.get_cmap("tab20")(np.asarray(labels) % 20)
        ax.scatter(x, y, z, c=colours, s=4, depthshade=False)
        lim = np.abs(xyz[:, :3]).max() or 1.0
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), zlim=(-lim, lim), title=title)
        ax.set_box_aspect((1, 1, 1))
        ax.set_axis_off()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    write_atomic(buf.getvalue(), path)
    return path


@HOOKS.register_module()
class PointCloudVisualizationHook(Hook):
    """Render test predictions: predicted parts (and the labelled parts) per shape, or the predicted class.

    Args:
        enable: render at all (off by default; ``tools/test.py --show-dir`` turns it on).
        draw: alias kept for OpenMMLab's visualisation-hook signature (either turns rendering on).
        interval: render every ``interval``-th test batch.
        out_dir: output folder (relative paths are inside the run's work dir).
        max_points: points drawn per shape.
        up: the data's up axis.
        show: OpenMMLab's "show in a window" switch (mmpretrain's ``test.py --show-dir`` passes False);
            rendering goes to files only, so True is refused.
        wait_time: accepted with ``show`` (OpenMMLab's signature), unused.
    """

    priority = "NORMAL"

    def __init__(self, enable: bool = False, draw: bool = False, interval: int = 1, out_dir: str | None = None,
                 max_points: int = 2048, up: int = 1, show: bool = False, wait_time: float = 0.0) -> None:
        if show:
            raise ValueError("PointCloudVisualizationHook renders to files (out_dir / --show-dir); show=True "
                             "(a window) is not supported")
        self.enable = enable or draw
        self.interval, self.out_dir, self.max_points, self.up = interval, out_dir, max_points, up

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict | None = None,  # noqa: ANN001
                        outputs: Sequence | None = None) -> None:
        if not self.enable or batch_idx % self.interval or not outputs:
            return
        out_dir = self.out_dir or "vis"
        out_dir = out_dir if osp.isabs(out_dir) else osp.join(runner.work_dir, out_dir)
        os.makedirs(out_dir, exist_ok=True)
        classes = (runner.test_dataloader.dataset.metainfo or {}).get("classes")
        name = lambda i: classes[i] if classes is not None and i < len(classes) else str(i)  # noqa: E731
        for i, sample in enumerate(outputs):
            xyz = data_batch["inputs"][i][:, :3].cpu().numpy()[: self.max_points]
            stem = osp.splitext(osp.basename(sample.get("points_path", "") or f"sample{i}"))[0]
            path = osp.join(out_dir, f"{batch_idx:05d}_{i:03d}_{stem}.png")
            if "pred_parts" in sample:
                pred = sample.pred_parts.numpy()[: self.max_points]
                panels = [(xyz, pred, f"{name(int(sample.category))}: predicted parts")]
                if "gt_parts" in sample:
                    panels.append((xyz, sample.gt_parts.numpy()[: self.max_points], "labelled parts"))
            else:
                title = f"predicted: {name(int(sample.pred_label))}"
                if "gt_label" in sample:
                    title += f" (label: {name(int(sample.gt_label))})"
                panels = [(xyz, None, title)]
            render_points(path, panels, self.up)
