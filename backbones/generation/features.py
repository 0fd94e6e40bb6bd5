"""Feature networks of the generation metric: a small CNN trained on the data itself, and Inception-v3.

Inception-v3's pool features (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a
Local Nash Equilibrium", arXiv 1706.08500) are the standard feature space of FID, but they describe ImageNet
photographs, not 32 px digit scans, and need weights the zoo does not download. The metric therefore uses the
penultimate features (128-d) of :class:`FeatureCNN`, a small classifier trained deterministically on the training
split (the usual substitute on MNIST-like data). It is trained once by :func:`train_feature_classifier` and cached
as a checkpoint written atomically; the checkpoint records a digest of the training images, so a changed dataset
retrains it (:func:`feature_classifier`).

:class:`InceptionFeatures` computes torchvision's Inception-v3 pool features (2048-d) from a local state dict file
given by the user (``torchvision.models.inception_v3`` layout, read with the zoo's safe loader; never downloaded).
"""
from __future__ import annotations

import hashlib
import io
import os
import os.path as osp
import time
from collections.abc import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from backbones.engine.checkpoint import safe_load, write_atomic

#: bump when the architecture or the recipe changes: cached checkpoints of another version are retrained
RECIPE_VERSION = 1


class FeatureCNN(nn.Module):
    """A small VGG-style classifier of (B, C, 32, 32) images in [-1, 1]; its 128-d penultimate layer is the
    metric's feature space.

    Args:
        in_channels: C.
        num_classes: K.
        width: channels of the first stage (doubled at each of the three stages).
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, width: int = 32) -> None:
        super().__init__()
        layers, c = [], in_channels
        for w in (width, 2 * width, 4 * width):
            layers += [nn.Conv2d(c, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(),
                       nn.Conv2d(w, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]
            c = w
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.embed = nn.Sequential(nn.Linear(c, 128), nn.ReLU())
        self.head = nn.Linear(128, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [-1, 1] -> (B, 128) features."""
        return self.embed(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [-1, 1] -> (B, K) logits."""
        return self.head(self.features(x))


def images_digest(images: torch.Tensor, labels: torch.Tensor) -> str:
    """SHA-256 of a uint8 image set and its labels (what a cached classifier was trained on)."""
    h = hashlib.sha256()
    h.update(images.numpy().tobytes())
    h.update(labels.numpy().tobytes())
    return h.hexdigest()


def spread_subset(images: torch.Tensor, labels: torch.Tensor,
                  n: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` evenly spaced images of a class-sorted set (every class keeps its share), or all of them."""
    if n is None or n >= len(images):
        return images, labels
    idx = torch.linspace(0, len(images) - 1, n).round().long()
    return images[idx], labels[idx]


def _shift(x: torch.Tensor, g: torch.Generator, pad: int = 2) -> torch.Tensor:
    """Random translations by up to ``pad`` pixels (zero padding), one per image, drawn from ``g``."""
    b, _, h, w = x.shape
    padded = F.pad(x, (pad,) * 4, value=-1.0)
    dy, dx = torch.randint(0, 2 * pad + 1, (2, b), generator=g).tolist()
    return torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(b)])


def fit_classifier(images: torch.Tensor, labels: torch.Tensor, num_classes: int, epochs: int = 6, seed: int = 0,
                   batch_size: int = 64, lr: float = 2e-3,
                   progress: Callable[[int, int, float], None] | None = None) -> FeatureCNN:
    """Train :class:`FeatureCNN` on (N, C, H, W) uint8 images, deterministically: initialisation, order and
    shifts come from ``seed`` (the global generators are restored afterwards). Adam, cosine learning rate.
    ``progress(epoch, epochs, last loss)`` is called after each epoch.

    Returns:
        The classifier in eval mode.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = FeatureCNN(images.shape[1], num_classes)
        g = torch.Generator().manual_seed(seed)
        x_all = images.float() / 127.5 - 1
        steps = epochs * -(-len(images) // batch_size)
        optim = torch.optim.Adam(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=lr, total_steps=steps, pct_start=0.15)
        model.train()
        for epoch in range(epochs):
            order = torch.randperm(len(images), generator=g)
            for i in range(0, len(order), batch_size):
                idx = order[i:i + batch_size]
                loss = F.cross_entropy(model(_shift(x_all[idx], g)), labels[idx])
                optim.zero_grad()
                loss.backward()
                optim.step()
                sched.step()
            if progress is not None:
                progress(epoch + 1, epochs, float(loss))
    return model.eval()


@torch.no_grad()
def classifier_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 256) -> float:
    """Top-1 accuracy (fraction) of ``model`` on (N, C, H, W) uint8 images."""
    preds = torch.cat([model(images[i:i + batch_size].float() / 127.5 - 1).argmax(1)
                       for i in range(0, len(images), batch_size)])
    return float((preds == labels).float().mean())


def train_feature_classifier(data_root: str, out_path: str, size: int = 32, channels: int = 3, epochs: int = 6,
                             seed: int = 0, max_images: int | None = None) -> dict:
    """Train the feature classifier on ``data_root/train`` and write it atomically to ``out_path``.

    Args:
        data_root: a class-per-folder dataset with ``train/`` (and optionally ``val/``, for the accuracy logged).
        out_path: the checkpoint to write (``state_dict`` and ``meta``).
        size, channels: the images' size and channels, as the GAN sees them.
        epochs, seed: the recipe.
        max_images: train on ``max_images`` evenly spaced images only (quick tests).

    Returns:
        The checkpoint's ``meta``: recipe, data digest, class count and validation accuracy.
    """
    from backbones.generation.datasets import ImageFolderTensors

    train = ImageFolderTensors(data_root, "train", size=size, channels=channels, serialize_data=False)
    images, labels = spread_subset(*train.all_images(), max_images)
    num_classes = len(train.metainfo["classes"])
    from mmengine.logging import print_log

    print_log(f"training the metric's feature classifier on {len(images)} images of {data_root}/train "
              f"({epochs} epochs, once: cached as {out_path})", logger="current")
    started = time.perf_counter()

    def progress(epoch: int, total: int, loss: float) -> None:
        print_log(f"feature classifier: epoch {epoch}/{total}, loss {loss:.3f}, "
                  f"{time.perf_counter() - started:.0f} s", logger="current")

    model = fit_classifier(images, labels, num_classes, epochs=epochs, seed=seed, progress=progress)
    meta = dict(version=RECIPE_VERSION, seed=seed, epochs=epochs, size=size, channels=channels,
                num_classes=num_classes, train_images=len(images), data_sha256=images_digest(images, labels))
    if osp.isdir(osp.join(data_root, "val")):
        val = ImageFolderTensors(data_root, "val", classes_from="train", size=size, channels=channels,
                                 serialize_data=False)
        meta["val_accuracy"] = classifier_accuracy(model, *val.all_images())
    buffer = io.BytesIO()
    torch.save(dict(state_dict=model.state_dict(), meta=meta), buffer)
    write_atomic(buffer.getvalue(), out_path)
    return meta


class FeatureCacheError(ValueError):
    """The feature classifier's cache file is not a checkpoint :func:`train_feature_classifier` wrote (the message
    names the file and how to rebuild it)."""


def load_feature_classifier(path: str) -> tuple[FeatureCNN, dict]:
    """The cached classifier of ``path`` (safe loading) in eval mode, and its ``meta``.

    Raises:
        FeatureCacheError: the file is not a dict with ``state_dict`` and ``meta`` (channels, class count), its
            weights do not fit :class:`FeatureCNN` or hold NaN / infinity (a list, a file without ``meta`` and NaN
            weights failed with a TypeError, a KeyError and a LinAlgError far from the cause).
    """
    from backbones.engine.checkpoint.finite import first_non_finite

    def refuse(problem: str) -> FeatureCacheError:
        return FeatureCacheError(f"feature classifier cache {path}: {problem}; it is not a checkpoint the "
                                 f"generation metric wrote. Delete it: the metric trains and caches the classifier "
                                 f"again on its next run")

    ckpt = safe_load(path)
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict) \
            or not isinstance(ckpt.get("meta"), dict):
        kind = type(ckpt).__name__ if not isinstance(ckpt, dict) else f"dict with keys {sorted(map(str, ckpt))}"
        raise refuse(f"holds a {kind}, expected a dict with 'state_dict' and 'meta'")
    meta = ckpt["meta"]
    if not all(isinstance(meta.get(k), int) and meta[k] > 0 for k in ("channels", "num_classes")):
        raise refuse(f"its meta {sorted(meta)} lacks positive integer 'channels' and 'num_classes'")
    model = FeatureCNN(meta["channels"], meta["num_classes"])
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as e:
        raise refuse(f"its weights do not fit the feature network ({str(e).splitlines()[0]})") from None
    bad = first_non_finite(model)
    if bad is not None:
        raise refuse(f"weight {bad[0]!r} holds {bad[1]} NaN or infinite values")
    return model.eval(), meta


def feature_classifier(path: str, data_root: str, size: int = 32, channels: int = 3, epochs: int = 6, seed: int = 0,
                       max_images: int | None = None) -> tuple[FeatureCNN, dict]:
    """The classifier cached at ``path`` if it was trained with this recipe on these images, else trained now
    (:func:`train_feature_classifier`) and cached."""
    if osp.isfile(path):
        model, meta = load_feature_classifier(path)
        from backbones.generation.datasets import ImageFolderTensors

        train = ImageFolderTensors(data_root, "train", size=size, channels=channels, serialize_data=False)
        want = dict(version=RECIPE_VERSION, seed=seed, epochs=epochs, size=size, channels=channels,
                    data_sha256=images_digest(*spread_subset(*train.all_images(), max_images)))
        if all(meta.get(k) == v for k, v in want.items()):
            return model, meta
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    train_feature_classifier(data_root, path, size, channels, epochs, seed, max_images)
    return load_feature_classifier(path)


class InceptionFeatures(nn.Module):
    """torchvision's Inception-v3 pool features (B, 2048) of (B, C, H, W) uint8 images, from a local weights file.

    Images are scaled to [0, 1], repeated to 3 channels if grey, resized bilinearly to 299 x 299 and normalised
    with ImageNet's mean and std, as torchvision's weights expect (``transform_input=True``). The weights are
    torchvision's, not the TensorFlow graph of the reference FID code (``pt_inception-2015-12-05``): values are
    close to, not identical with, published FIDs.

    Args:
        weights: path of a ``torchvision.models.inception_v3`` state dict (or a checkpoint with ``state_dict``),
            read with :func:`~backbones.engine.checkpoint.safe_load`.
    """

    MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

    def __init__(self, weights: str) -> None:
        super().__init__()
        from torchvision.models import inception_v3

        state = safe_load(weights)
        state = state.get("state_dict", state)
        net = inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=True)
        net.load_state_dict(state)
        net.fc = nn.Identity()
        self.net = net.eval()
        self.register_buffer("mean", torch.tensor(self.MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(self.STD).view(1, 3, 1, 1))

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) uint8 -> (B, 2048) float features."""
        x = images.float() / 255
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        return self.net((x - self.mean) / self.std)
