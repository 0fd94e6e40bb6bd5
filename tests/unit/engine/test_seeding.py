"""Randomness from (seed, step) and (seed, epoch, sample) (backbones.engine.runner.seeding), and exact resume with the
shipped configs as they are (two persistent loader workers): a run killed mid-epoch or at
an epoch boundary and resumed with ``--resume`` ends with the weights and optimizer state of the uninterrupted run,
bit for bit (backbones.engine.runner.seeding). The digits config is used as shipped except for its length (fewer images
and epochs) and a larger drop-path rate, so that the random draws matter."""
from __future__ import annotations

import pickle
import random

import numpy as np
import pytest
import torch

from backbones.engine.runner.seeding import (
    SampleIndex,
    SeedAugmentations,
    SeedTaggedInfiniteSampler,
    SeedTaggedSampler,
    derive_seed,
)


def test_sample_index_keeps_its_key_through_offsets_remainders_and_pickling() -> None:
    i = SampleIndex(7, seed=3, epoch=2)
    for j, value in ((i - 5, 2), (i % 4, 3), (i + 1, 8), (1 + i, 8), (pickle.loads(pickle.dumps(i - 5)), 2)):
        assert isinstance(j, SampleIndex) and int(j) == value and (j.seed, j.epoch, j.origin) == (3, 2, 7)
    assert [10, 11, 12, 13, 14, 15, 16, 17][i] == 17 and np.arange(10)[i] == 7


@pytest.mark.parametrize("shuffle", [True, False])
def test_seed_tagged_samplers_keep_mmengine_order(shuffle: bool) -> None:
    from mmengine.dataset import DefaultSampler, InfiniteSampler

    data = list(range(10))
    for epoch in (0, 3):
        plain, tagged = DefaultSampler(data, shuffle=shuffle, seed=5), SeedTaggedSampler(data, shuffle=shuffle, seed=5)
        plain.set_epoch(epoch)
        tagged.set_epoch(epoch)
        keys = list(tagged)
        assert keys == list(plain) and all((k.seed, k.epoch) == (5, epoch) for k in keys)
    plain = iter(InfiniteSampler(data, shuffle=shuffle, seed=5))
    tagged = iter(SeedTaggedInfiniteSampler(data, shuffle=shuffle, seed=5))
    keys = [next(tagged) for _ in range(25)]
    assert keys == [next(plain) for _ in range(25)]
    assert [k.epoch for k in keys] == [0] * 10 + [1] * 10 + [2] * 5


def test_seed_augmentations_draws_from_the_sample_key_only() -> None:
    def draw(key: object) -> tuple:
        SeedAugmentations()({"sample_idx": key})
        return random.random(), np.random.rand(), torch.rand(()).item()

    a = SampleIndex(4, seed=1, epoch=0)
    random.seed(99)
    first = draw(a)
    torch.manual_seed(123)  # other global states before the call change nothing
    assert draw(SampleIndex(4, seed=1, epoch=0)) == first
    assert draw(SampleIndex(4, seed=1, epoch=1)) != first and draw(SampleIndex(5, seed=1, epoch=0)) != first
    assert draw(SampleIndex(9, 1, 0, origin=4)) == first  # a wrapper's local index: the sampler's index decides
    random.seed(7)
    want = random.random()
    random.seed(7)
    SeedAugmentations()({"sample_idx": 4})  # a plain index (validation) leaves the generators alone
    assert random.random() == want
    assert len({derive_seed(0, e, i) for e in range(5) for i in range(200)}) == 1000
