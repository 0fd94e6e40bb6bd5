"""Dynamic int8 quantizes activations per call, so a sample's result depends on the batch it runs in; calibrated int8
fixes the scales, so it does not (README, Reduced precision)."""
from __future__ import annotations

import copy

import torch

import backbones


def test_calibrated_int8_is_batch_independent_and_dynamic_is_not() -> None:
    torch.manual_seed(0)
    model = backbones.MixerViT(dict(preset="vit-tiny", depth=2), img_size=32).eval()
    x = torch.randn(7, 3, 32, 32)
    x[1:] *= 3  # the other samples widen the batch's activation range
    dynamic = backbones.convert_to_deploy(copy.deepcopy(model), precision="int8")
    calibrated = backbones.convert_to_deploy(copy.deepcopy(model), precision="int8",
                                             calibrate=lambda m: [m(torch.randn(8, 3, 32, 32) * 2) for _ in range(4)])
    with torch.no_grad():
        alone, batched = dynamic(x[:1])[-1], dynamic(x)[-1][:1]
        assert (alone - batched).abs().max() > 1e-3  # the batch changed the scale, and so the result
        assert torch.equal(calibrated(x[:1])[-1], calibrated(x)[-1][:1])
