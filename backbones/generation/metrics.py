"""Offline quality of class-conditional samples: Fréchet distance, k-NN precision / recall and the accuracy of a
classifier on the samples, all in the feature space of a classifier trained on the data
(:mod:`backbones.generation.features`); optionally FID with user-supplied Inception-v3 weights.

* Fréchet distance (Heusel et al. 2017, arXiv 1706.08500): features of each set as a Gaussian (mean ``mu``,
  covariance ``S``), ``FD = |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))``.
* Precision and recall (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for Assessing Generative
  Models", arXiv 1904.06991): each set's manifold is the union of balls around its points with radius the distance
  to the k-th nearest neighbour in the set (k = 3); precision is the share of generated samples inside the real
  manifold, recall the share of real samples inside the generated one.
* Sample accuracy: the share of samples generated for label k that the classifier assigns to k.
"""
from __future__ import annotations

import errno
import os
import os.path as osp
from collections.abc import Callable, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) features -> mean (D,) and covariance (D, D) (unbiased), in float64."""
    x = np.asarray(features, dtype=np.float64)
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """The Fréchet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``Tr (S_1 S_2)^(1/2)`` is computed as ``Tr (S_1^(1/2) S_2 S_1^(1/2))^(1/2)``, a symmetric positive
    semi-definite matrix, with two eigendecompositions in float64 (no complex parts to discard).
    """
    mu1, mu2, sigma1, sigma2 = (np.asarray(a, dtype=np.float64) for a in (mu1, mu2, sigma1, sigma2))
    w, v = np.linalg.eigh(sigma1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = root1 @ sigma2 @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


def feature_frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to (N, D) and (M, D) feature sets."""
    return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))


def knn_radii(features: torch.Tensor, k: int = 3) -> torch.Tensor:
    """(N, D) -> (N,): each point's distance to its k-th nearest neighbour in the set (itself excluded)."""
    if len(features) <= k:
        raise ValueError(f"k-NN radii with k={k} need more than {k} points, got {len(features)}")
    dist = torch.cdist(features, features)
    return dist.kthvalue(k + 1, dim=1).values  # the 1st smallest is the point itself (distance 0)


def manifold_share(reference: torch.Tensor, radii: torch.Tensor, query: torch.Tensor, chunk: int = 1024) -> float:
    """Share of ``query`` points inside the union of balls ``|q - reference_i| <= radii_i``."""
    inside = [(torch.cdist(query[i:i + chunk], reference) <= radii[None]).any(dim=1)
              for i in range(0, len(query), chunk)]
    return float(torch.cat(inside).float().mean())


def precision_recall(real: np.ndarray | torch.Tensor, fake: np.ndarray | torch.Tensor,
                     k: int = 3) -> tuple[float, float]:
    """Kynkäänniemi et al.'s (precision, recall) of (M, D) ``fake`` against (N, D) ``real`` features."""
    real, fake = (torch.as_tensor(np.asarray(x), dtype=torch.float64) for x in (real, fake))
    precision = manifold_share(real, knn_radii(real, k), fake)
    recall = manifold_share(fake, knn_radii(fake, k), real)
    return precision, recall


@torch.no_grad()
def batched(fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """``fn`` over (N, ...) ``images`` in batches, concatenated."""
    return torch.cat([fn(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])


def mirror_error(images: torch.Tensor) -> float:
    """Mean absolute difference between (M, C, H, W) uint8 images and their left-right mirror images, % of 255."""
    x = images.float()
    return 100 * float((x - x.flip(-1)).abs().mean()) / 255


@METRICS.register_module()
class GenerationMetric(BaseMetric):
    """Sample quality of a class-conditional generator against the real validation images.

    Reads the ``fake_img``, ``real_img`` ((C, H, W) uint8) and ``gt_label`` of each predicted sample
    (:meth:`~backbones.generation.model.ConditionalGAN.predict`) and reports, with the ``gen`` prefix:

    * ``fd``: Fréchet distance between the real and generated features of the feature classifier (lower is better);
    * ``precision``, ``recall``: k-NN manifold precision and recall in that space (fractions, higher is better);
    * ``sample_acc``: the classifier's accuracy (%) on the samples against the labels they were generated for;
    * ``real_acc``: its accuracy (%) on the real images (the reference for ``sample_acc``);
    * ``fid_inception``: FID with Inception-v3 pool features, when ``inception_weights`` is given;
    * ``mirror_err``, ``mirror_err_real``: with ``mirror``, the mean absolute difference between a sample and its
      left-right mirror image, % of the grey range, of the samples and of the real images (0 on a set of mirrored
      images, :mod:`backbones.bundled.digit_mirrors`).

    Args:
        data_root: the dataset folder whose ``train/`` split trains the feature classifier.
        classifier_path: its cached checkpoint (default ``<data_root>/feature_cnn_<C>ch-<size>px_seed<seed>.pth``);
            trained on first use, retrained when the training images or the recipe changed.
        classifier_epochs, classifier_seed, classifier_images: the classifier's recipe (``classifier_images``: N
            evenly spaced training images only, for quick tests).
        k: neighbours of the precision / recall manifolds.
        inception_weights: a local ``torchvision.models.inception_v3`` state dict file, or None.
        mirror: also report the mirror errors.
        collect_device, prefix: as mmengine's ``BaseMetric``.
    """

    default_prefix = "gen"

    def __init__(self, data_root: str, classifier_path: str | None = None, classifier_epochs: int = 6,
                 classifier_seed: int = 0, classifier_images: int | None = None, k: int = 3,
                 inception_weights: str | None = None, mirror: bool = False, collect_device: str = "cpu",
                 prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.data_root, self.classifier_path = data_root, classifier_path
        self.classifier_epochs, self.classifier_seed = classifier_epochs, classifier_seed
        self.classifier_images, self.k, self.inception_weights = classifier_images, k, inception_weights
        self.mirror = mirror

    def process(self, data_batch: object, data_samples: Sequence[dict]) -> None:
        """Keep each sample's generated and real image and its label."""
        for s in data_samples:
            self.results.append(dict(fake=torch.as_tensor(s["fake_img"]).cpu(),
                                     real=torch.as_tensor(s["real_img"]).cpu(),
                                     label=int(torch.as_tensor(s["gt_label"]))))

    def classifier(self, channels: int, size: int) -> torch.nn.Module:
        """The feature classifier for images of ``channels`` x ``size`` x ``size`` (cached, else trained)."""
        from backbones.generation.features import feature_classifier

        path = self.classifier_path or osp.join(
            self.data_root, f"feature_cnn_{channels}ch-{size}px_seed{self.classifier_seed}.pth")
        folder = osp.dirname(osp.abspath(path))
        unwritable = (f"the generation metric caches its feature classifier at {path}, but {folder} is not "
                      f"writable (a read-only data root?): make it writable, or give the metric a writable "
                      f"classifier_path (val_evaluator.classifier_path and test_evaluator.classifier_path)")
        if not osp.isfile(path) and osp.isdir(folder) and not os.access(folder, os.W_OK):
            raise PermissionError(unwritable)  # before training it for minutes
        try:
            model, _ = feature_classifier(path, self.data_root, size=size, channels=channels,
                                          epochs=self.classifier_epochs, seed=self.classifier_seed,
                                          max_images=self.classifier_images)
        except OSError as e:  # the hidden temporary file of the atomic write: EACCES, or EROFS on a read-only mount
            if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise
            raise PermissionError(f"{unwritable} ({e.strerror}: {e.filename})") from None
        return model

    def compute_metrics(self, results: list) -> dict[str, float]:
        """The metrics over every kept sample."""
        fake = torch.stack([r["fake"] for r in results])
        real = torch.stack([r["real"] for r in results])
        labels = torch.tensor([r["label"] for r in results])
        return self.evaluate_images(real, fake, labels)

    def evaluate_images(self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """The metrics of (M, C, H, W) uint8 ``fake`` images generated for (M,) ``labels`` against (N, C, H, W)
        uint8 ``real`` images."""
        model = self.classifier(real.shape[1], real.shape[-1])
        scale = lambda x: x.float() / 127.5 - 1  # noqa: E731
        f_real = batched(lambda x: model.features(scale(x)), real).double().numpy()
        f_fake = batched(lambda x: model.features(scale(x)), fake).double().numpy()
        precision, recall = precision_recall(f_real, f_fake, self.k)
        metrics = dict(fd=feature_frechet_distance(f_real, f_fake), precision=precision, recall=recall,
                       sample_acc=100 * float((batched(lambda x: model(scale(x)), fake).argmax(1) == labels)
                                              .float().mean()))
        if len(real) == len(labels):
            metrics["real_acc"] = 100 * float((batched(lambda x: model(scale(x)), real).argmax(1) == labels)
                                              .float().mean())
        if self.mirror:
            metrics["mirror_err"], metrics["mirror_err_real"] = mirror_error(fake), mirror_error(real)
        if self.inception_weights:
            from backbones.generation.features import InceptionFeatures

            net = InceptionFeatures(self.inception_weights)
            metrics["fid_inception"] = feature_frechet_distance(batched(net, real, 32).double().numpy(),
                                                                batched(net, fake, 32).double().numpy())
        return metrics
