"""Randomness as a function of (seed, step) and (seed, epoch, sample): exact resume with any loader workers.

mmengine seeds the run once, and each loader worker once when it starts (``seed + rank * workers + id``). With
persistent workers the workers' generators advance over the whole run and are not saved, so a resumed run (new
workers, seeded as at the start) draws other augmentations than the run it continues; creating a loader
iterator also draws from the main process's generator, at moments that differ between a run and its resumption.
The three pieces here make every draw a function of where it happens instead:

* :class:`SeedTaggedSampler` / :class:`SeedTaggedInfiniteSampler` - mmengine's ``DefaultSampler`` /
  ``InfiniteSampler`` (same order), each index a :class:`SampleIndex`: an ``int`` that also carries the
  sampler's seed and the epoch (the pass number for the infinite one). Datasets use it as the plain index;
  mmengine datasets hand it on to the pipeline as ``sample_idx``;
* :class:`SeedAugmentations` - the first transform of a training pipeline: it seeds Python's, NumPy's and
  torch's generators from ``(seed, epoch, index drawn)``, so an augmentation draw depends neither on the worker nor
  on the worker count (0 included) nor on the number of processes;
* :class:`StepSeedHook` - before every training iteration, the main process's generators are seeded from
  ``(seed, iteration, rank)`` (dropout, drop-path, batch augmentations such as Mixup). It runs after the
  iteration's batch is loaded, so with ``num_workers=0`` the transform's seeding never reaches the model.

A run and the same run killed at any moment and resumed from its last checkpoint then train on the same data
with the same random draws, and end with the same weights bit for bit. The shipped configs use all three.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from mmengine.dataset import DefaultSampler, InfiniteSampler
from mmengine.hooks import Hook
from mmengine.registry import DATA_SAMPLERS, HOOKS, TRANSFORMS


def derive_seed(*keys: int) -> int:
    """A 32-bit seed from integer keys (NumPy's ``SeedSequence``: nearby keys give unrelated seeds)."""
    return int(np.random.SeedSequence([int(k) & 0xFFFFFFFFFFFFFFFF for k in keys]).generate_state(1)[0])


def seed_all(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators with ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class SampleIndex(int):
    """A dataset index that also carries the sampler's ``seed``, the ``epoch`` it is drawn in and its ``origin``
    (the index the sampler drew). Offsets and remainders keep the tags, so the wrappers that map an index into
    a wrapped dataset (mmengine's ``ConcatDataset``: ``index - offset``, ``RepeatDataset``: ``index % length``)
    hand the sample's key on."""

    seed: int
    epoch: int
    origin: int

    def __new__(cls, index: int, seed: int, epoch: int, origin: int | None = None) -> SampleIndex:
        obj = super().__new__(cls, index)
        obj.seed, obj.epoch = int(seed), int(epoch)
        obj.origin = int(index) if origin is None else int(origin)
        return obj

    def _like(self, value: int) -> SampleIndex:
        return SampleIndex(value, self.seed, self.epoch, self.origin)

    def __add__(self, other: int) -> SampleIndex:
        return self._like(int(self) + int(other))

    __radd__ = __add__

    def __sub__(self, other: int) -> SampleIndex:
        return self._like(int(self) - int(other))

    def __mod__(self, other: int) -> SampleIndex:
        return self._like(int(self) % int(other))

    def __reduce__(self) -> tuple:
        return SampleIndex, (int(self), self.seed, self.epoch, self.origin)

    def __repr__(self) -> str:
        return f"SampleIndex({int(self)}, seed={self.seed}, epoch={self.epoch}, origin={self.origin})"


@DATA_SAMPLERS.register_module()
class SeedTaggedSampler(DefaultSampler):
    """mmengine's ``DefaultSampler`` (same arguments, same order) yielding :class:`SampleIndex` es."""

    def __iter__(self) -> Iterator[SampleIndex]:
        for index in super().__iter__():
            yield SampleIndex(index, self.seed, self.epoch)


@DATA_SAMPLERS.register_module()
class SeedTaggedInfiniteSampler(InfiniteSampler):
    """mmengine's ``InfiniteSampler`` (same arguments, same order) yielding :class:`SampleIndex` es whose epoch
    is the pass number (a pass is one permutation of the dataset)."""

    def _infinite_indices(self) -> Iterator[SampleIndex]:
        g = torch.Generator()
        g.manual_seed(self.seed)
        passes = 0
        while True:
            order = torch.randperm(self.size, generator=g) if self.shuffle else torch.arange(self.size)
            for index in order.tolist():
                yield SampleIndex(index, self.seed, passes)
            passes += 1


@TRANSFORMS.register_module()
class SeedAugmentations:
    """First transform of a training pipeline: seed the global generators from the sample's ``sample_idx``
    (a :class:`SampleIndex` from the seed-tagged samplers); a plain index (validation, a tool reading one
    sample) leaves them as they are. The data passes through unchanged."""

    def __call__(self, results: dict) -> dict:
        index = results.get("sample_idx")
        if isinstance(index, SampleIndex):
            seed_all(derive_seed(index.seed, index.epoch, index.origin))
        return results

    def __repr__(self) -> str:
        return "SeedAugmentations()"


@HOOKS.register_module()
class StepSeedHook(Hook):
    """Seed the main process's generators from ``(seed, iteration, rank)`` before every training iteration.

    Dropout, drop-path and batch augmentations then draw the same numbers in a run and in its resumption,
    whatever else (loader iterators, validation) used the generators in between. ``seed`` defaults to the
    runner's (``randomness.seed``).
    """

    priority = "VERY_HIGH"

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    def before_train_iter(self, runner, batch_idx: int, data_batch: Any = None) -> None:  # noqa: ANN001
        from mmengine.dist import get_rank

        base = self.seed if self.seed is not None else runner.seed
        seed_all(derive_seed(base, runner.iter, get_rank()))
