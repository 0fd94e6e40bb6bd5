"""Images decoded the same way in every task (issue 42): the GAN's loader reads 16-bit PNGs as the classification
loader does, both refuse transparent images (ink in alpha read as blank), and a file that cannot be decoded is
named."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backbones.generation.datasets import ImageFolderTensors
from backbones.utils.folders import ImageFileError

INK = (np.arange(32 * 32).reshape(32, 32) * 37 % 256).astype(np.uint8)


def folder(root: Path, write) -> Path:  # noqa: ANN001
    """``root/train/{a,b}/x.png`` written by ``write(path, class_index)``; returns ``root``."""
    for i, c in enumerate("ab"):
        (root / "train" / c).mkdir(parents=True)
        write(root / "train" / c / "x.png", i)
    return root


def classification_set(root: Path):  # noqa: ANN201
    from mmengine.registry import DefaultScope

    import backbones.classification  # noqa: F401
    from backbones.classification.image_folder import ImageFolderDataset

    with DefaultScope.overwrite_default_scope("mmpretrain"):
        return ImageFolderDataset(data_root=str(root), data_prefix="train",
                                  pipeline=[dict(type="LoadImageFromFile"), dict(type="PackInputs")])


def test_gan_loader_reads_16_bit_pngs_as_the_classification_loader(tmp_path: Path) -> None:
    """A 16-bit grayscale PNG: Pillow's convert('L') clipped it (99% of these pixels 255); now the high byte, the
    value OpenCV gives the classification loader."""
    root = folder(tmp_path, lambda p, i: Image.fromarray(INK.astype(np.uint16) * 256 + 100 * i).save(p))
    gan = ImageFolderTensors(data_root=str(root), size=32, channels=1)
    images, _ = gan.all_images()
    assert images.shape == (2, 1, 32, 32)
    for k in range(2):
        assert np.array_equal(images[k, 0].numpy(), INK)
    cls = classification_set(root)
    for k in range(2):
        bgr = cls[k]["inputs"].numpy()  # (3, H, W), OpenCV's decoding
        assert np.array_equal(bgr[0], INK) and np.array_equal(bgr[2], INK)
    rgb = ImageFolderTensors(data_root=str(root), size=32, channels=3).all_images()[0]
    assert np.array_equal(rgb[0].numpy(), cls[0]["inputs"].numpy()[::-1])


def rgba_ink_in_alpha(path: Path, i: int) -> None:
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 3] = INK
    Image.fromarray(rgba, "RGBA").save(path)


def test_transparent_images_refused_by_every_loader(tmp_path: Path) -> None:
    """Ink in alpha (RGB all zero): both loaders read all-zero images and trained on; now both refuse, naming the
    file. An opaque alpha channel is dropped."""
    root = folder(tmp_path / "t", rgba_ink_in_alpha)
    with pytest.raises(ImageFileError, match=r"train/a/x\.png: RGBA image with transparent pixels"):
        ImageFolderTensors(data_root=str(root), size=32, channels=1)
    with pytest.raises(ImageFileError, match=r"train/a/x\.png.*RGBA image with transparent pixels"):
        classification_set(root)[0]

    def opaque(path: Path, i: int) -> None:
        Image.fromarray(np.dstack([INK, INK, INK, np.full_like(INK, 255)]), "RGBA").save(path)

    root = folder(tmp_path / "o", opaque)
    assert np.array_equal(ImageFolderTensors(data_root=str(root), size=32, channels=1).all_images()[0][0, 0], INK)
    assert np.array_equal(classification_set(root)[0]["inputs"].numpy()[1], INK)


def test_undecodable_gan_images_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A truncated PNG and a decompression bomb: Pillow's errors did not name the file."""
    def cut(path: Path, i: int) -> None:
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (32, 32), dtype=np.uint8)).save(path)
        if i == 1:
            path.write_bytes(path.read_bytes()[:300])

    root = folder(tmp_path / "cut", cut)
    with pytest.raises(ImageFileError, match=r"train/b/x\.png \(300 bytes\): cannot be decoded: OSError"):
        ImageFolderTensors(data_root=str(root), size=32, channels=1)

    root = folder(tmp_path / "bomb", lambda p, i: Image.fromarray(INK).save(p))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 32 x 32 > 2 x 100: Pillow's DecompressionBombError
    with pytest.raises(ImageFileError, match=r"train/a/x\.png \(\d+ bytes\): cannot be decoded: "
                                             r"DecompressionBombError"):
        ImageFolderTensors(data_root=str(root), size=32, channels=1)


@pytest.fixture(scope="module")
def twelve_classes(tmp_path_factory: pytest.TempPathFactory, digits: Path) -> Path:
    """The digits with two more class folders (copies of 0 and 1) in every split: 12 classes."""
    import shutil

    root = tmp_path_factory.mktemp("twelve") / "digits"
    shutil.copytree(digits, root)
    for split in ("train", "val"):
        for src, dst in (("0", "a"), ("1", "b")):
            shutil.copytree(root / split / src, root / split / dst)
    return root


def test_class_count_mismatch_refused_at_test_time(tmp_path: Path, twelve_classes: Path) -> None:
    """tools/test.py on 12 class folders against a 10-class model reported an accuracy (75%); now an error naming
    the folder and both counts."""
    import torch

    from backbones.cli import test as test_tool
    from backbones.engine.runner.config import build_model
    from tests.support import DIGITS_CFG, load_cfg, small_config

    ckpt = tmp_path / "ten.pth"
    torch.save(dict(state_dict=build_model(load_cfg(DIGITS_CFG)).state_dict()), ckpt)
    cfg = small_config(tmp_path, twelve_classes)
    with pytest.raises(SystemExit) as e:
        test_tool.main([str(cfg), str(ckpt), "--work-dir", str(tmp_path / "w")])
    message = str(e.value.code)
    assert f"the test data ({twelve_classes / 'val'}) has 12 classes" in message
    assert "the model 10 (ImageClassifier.head.num_classes)" in message


def test_gan_class_count_mismatch_is_a_clear_error(tmp_path: Path, twelve_classes: Path) -> None:
    """A GAN config with num_classes=10 on 12 class folders failed with an IndexError in an embedding."""
    from backbones.cli import train
    from tests.support import ROOT

    cfg = ROOT / "configs/generation/digits/sngan_none-w16_1xb32-1k_digits-32px.py"
    opts = [f"{split}_dataloader.dataset.data_root={twelve_classes}" for split in ("train", "val", "test")]
    with pytest.raises(SystemExit) as e:
        train.main([str(cfg), "--work-dir", str(tmp_path / "w"), "--cfg-options", *opts,
                    f"val_evaluator.data_root={twelve_classes}", "train_cfg.max_iters=2"])
    message = str(e.value.code)
    assert "the train data" in message and "has 12 classes" in message
    assert "the model 10 (" in message and "generator.num_classes)" in message


@pytest.mark.parametrize("case", ["list", "no_meta", "nan"])
def test_bad_feature_cache_is_named_with_how_to_rebuild(case: str, tmp_path: Path) -> None:
    """The metric's feature-network cache as a list, without ``meta`` or with NaN weights failed with a TypeError,
    a KeyError or a LinAlgError; now an error naming the file and saying how to rebuild it."""
    import torch

    from backbones.generation.features import FeatureCacheError, FeatureCNN, load_feature_classifier

    state = FeatureCNN(1, 10).state_dict()
    meta = dict(channels=1, num_classes=10)
    if case == "nan":
        state["head.weight"][0, 0] = float("nan")
    content = {"list": [state], "no_meta": dict(state_dict=state), "nan": dict(state_dict=state, meta=meta)}[case]
    path = tmp_path / "feature_cnn_1ch-32px_seed0.pth"
    torch.save(content, path)
    with pytest.raises(FeatureCacheError, match=rf"feature classifier cache {path}: .*Delete it: the metric trains"):
        load_feature_classifier(str(path))


def test_read_only_data_root_is_a_clear_error(tmp_path: Path, digits: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only data root: a PermissionError on the atomic write's hidden temporary file; now named, saying how to
    give the cache another place (checked before the classifier is trained when there is no cache yet)."""
    import errno
    import os
    import shutil

    import backbones.generation.features as features
    from backbones.generation.metrics import GenerationMetric

    root = tmp_path / "digits"
    shutil.copytree(digits / "train", root / "train")
    metric = GenerationMetric(str(root), classifier_epochs=1, classifier_images=40)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(root) else real_access(p, mode))
    with pytest.raises(PermissionError, match=rf"caches its feature classifier at {root}/feature_cnn_1ch-32px_seed0"
                                              rf"\.pth, but {root} is not writable .*classifier_path"):
        metric.classifier(1, 32)
    monkeypatch.setattr(os, "access", real_access)

    def denied(data: bytes, path: str) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(root / ".feature_cnn.pth.0a1b2c3d.tmp"))

    monkeypatch.setattr(features, "write_atomic", denied)
    with pytest.raises(PermissionError, match=rf"{root} is not writable.*\(Permission denied: {root}/\.feature_cnn"):
        metric.classifier(1, 32)
