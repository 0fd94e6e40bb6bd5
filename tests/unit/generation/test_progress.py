"""Long waits say what they do: the GAN metric's feature classifier logs its start (with the cache path) and each
epoch; the lab's progress lines give the epoch total."""
from __future__ import annotations

from pathlib import Path

import torch

from backbones.generation.features import fit_classifier


def test_feature_classifier_reports_each_epoch() -> None:
    seen = []
    images = torch.randint(0, 255, (40, 1, 32, 32), dtype=torch.uint8)
    fit_classifier(images, torch.arange(40) % 4, 4, epochs=3, batch_size=16,
                   progress=lambda e, n, loss: seen.append((e, n, loss)))
    assert [(e, n) for e, n, _ in seen] == [(1, 3), (2, 3), (3, 3)] and all(loss > 0 for *_, loss in seen)


def test_feature_classifier_training_is_announced_with_its_cache(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from mmengine.logging import MMLogger

    from backbones.bundled.digits import prepare
    from backbones.generation.features import train_feature_classifier

    root = prepare(tmp_path / "digits")
    MMLogger.get_instance("progress_test", log_level="INFO")
    train_feature_classifier(str(root), str(tmp_path / "cache" / "fc.pth"), size=32, channels=1, epochs=2,
                             max_images=64)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "training the metric's feature classifier on 64 images" in text and "fc.pth" in text, text[-2000:]
    assert "feature classifier: epoch 1/2" in text and "feature classifier: epoch 2/2" in text
