"""The detector's backbone and neck (ViTDet's simple feature pyramid, Li et al. 2022) export to ONNX with a
dynamic batch and run back in onnxruntime with the levels of the eager model."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from tests.support import ROOT

CONFIG = ROOT / "configs/detection/digit_detection/fcos_selfattention-cnn-p16-w128-d4_1xb8-4k_digit-detection-160px.py"


def test_feature_pyramid_onnx_dynamic_batch(tmp_path: Path) -> None:
    import onnxruntime as ort
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from backbones.apis.exporting import FeaturePyramid, export_spec
    from backbones.deploy.export import export

    cfg = Config.fromfile(str(CONFIG))
    with DefaultScope.overwrite_default_scope("mmdet"):
        model = MODELS.build(cfg.model).eval()
    spec = export_spec(model)
    assert isinstance(spec.net, FeaturePyramid) and spec.names == ("inputs",)
    torch.manual_seed(0)
    path = export(spec.net, (torch.randn(2, 3, 160, 192),), "onnx", tmp_path / "pyramid.onnx", spec.names)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(3, 3, 160, 192)  # another batch than the export's
    got = session.run(None, {"inputs": x.numpy()})
    with torch.no_grad():
        want = spec.net(x)
    assert [tuple(g.shape) for g in got] == [(3, 64, 20, 24), (3, 64, 10, 12), (3, 64, 5, 6)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-4, atol=1e-4)
