"""The GAN metric on the bundled digits: its feature classifier is trained once (deterministically, cached), and
it ranks degraded images below real ones."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from backbones.engine.checkpoint import safe_load
from backbones.generation.metrics import (
    GenerationMetric,
)


@pytest.fixture(scope="module")
def digit_sets(digits: Path, tmp_path_factory) -> tuple[GenerationMetric, torch.Tensor, torch.Tensor]:  # noqa: ANN001
    from backbones.generation import ImageFolderTensors

    cache = tmp_path_factory.mktemp("cnn") / "cnn.pth"
    metric = GenerationMetric(str(digits), classifier_path=str(cache), classifier_epochs=6, classifier_images=400)
    images, labels = ImageFolderTensors(str(digits), "val", classes_from="train", size=32, channels=1).all_images()
    return metric, images, labels


def test_feature_classifier_is_trained_once_deterministically(digit_sets, tmp_path: Path) -> None:  # noqa: ANN001
    from backbones.generation.features import load_feature_classifier, train_feature_classifier

    metric, _, _ = digit_sets
    model = metric.classifier(1, 32)
    cached, meta = load_feature_classifier(metric.classifier_path)
    assert meta["train_images"] == 400 and meta["val_accuracy"] > 0.8, meta
    assert all(torch.equal(v, cached.state_dict()[k]) for k, v in model.state_dict().items())
    stamp = Path(metric.classifier_path).stat().st_mtime_ns
    metric.classifier(1, 32)  # read back from the cache, not retrained
    assert Path(metric.classifier_path).stat().st_mtime_ns == stamp
    runs = [train_feature_classifier(metric.data_root, tmp_path / f"{i}.pth", channels=1, epochs=1, max_images=100)
            for i in range(2)]
    assert runs[0] == runs[1]
    a, b = (safe_load(tmp_path / f"{i}.pth")["state_dict"] for i in range(2))
    assert all(torch.equal(v, b[k]) for k, v in a.items())  # same seed, same weights bit for bit


def test_metric_ranks_degraded_images_below_real_ones(digit_sets) -> None:  # noqa: ANN001
    """Half of the val images as the reference; the other half as they are scores best on every measure, and
    worse as noise, blurred (5x5 box) or with their pixels shuffled."""
    metric, images, labels = digit_sets
    ref, cand, cand_labels = images[::2], images[1::2], labels[1::2]
    from lab.study.generation import degrade  # the study's references: the same three degradations

    real = metric.evaluate_images(ref, cand, cand_labels)
    assert real["sample_acc"] > 80 and real["precision"] > 0.6 and real["recall"] > 0.6, real
    for name in ("noise", "blurred", "shuffled"):
        fake = degrade(cand, name)
        bad = metric.evaluate_images(ref, fake, cand_labels)
        assert bad["fd"] > 2 * real["fd"], (name, bad, real)
        assert bad["precision"] < real["precision"] and bad["sample_acc"] < real["sample_acc"], (name, bad, real)
