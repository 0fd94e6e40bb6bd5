"""Hooks of the zoo, registered in mmengine's root ``HOOKS``."""
from __future__ import annotations

import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from .atomic import write_atomic


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the Python, NumPy and torch random states in every checkpoint and restore them on resume.

    mmengine restores weights, optimizer, schedulers and the loop counters but not the random
    generators, so dropout, drop-path, Mixup/CutMix and data augmentation draw different numbers
    after a resume. With this hook, N iterations straight and N/2 + resume + N/2 give identical
    weights (single process, ``num_workers=0`` or workers seeded per epoch by mmengine).
    """

    priority = "VERY_LOW"

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:  # noqa: ANN001
        checkpoint["rng_state"] = dict(python=random.getstate(), numpy=np.random.get_state(),
                                       torch=torch.get_rng_state())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:  # noqa: ANN001
        state = checkpoint.get("rng_state")
        if state is None:
            return
        random.setstate(state["python"])
        np.random.set_state(state["numpy"])
        torch.set_rng_state(state["torch"])


@HOOKS.register_module()
class WeightsConsistencyHook(Hook):
    """After training, check that every process holds the same weights (data-parallel sanity check).

    Each rank computes a float64 checksum vector of its parameters and buffers; rank 0 writes all of
    them to ``work_dir/weights_consistency.json`` and every rank raises if they differ.
    """

    priority = "LOWEST"

    def after_train(self, runner) -> None:  # noqa: ANN001
        import json
        import os.path as osp

        from mmengine.dist import all_gather_object, get_rank, get_world_size

        model = runner.model.module if hasattr(runner.model, "module") else runner.model
        sums = [float(t.detach().double().sum()) for t in model.state_dict().values() if t.is_floating_point()]
        gathered = all_gather_object(sums)
        same = all(g == gathered[0] for g in gathered)
        if get_rank() == 0:
            report = dict(world_size=get_world_size(), consistent=same, checksums=gathered)
            write_atomic(json.dumps(report).encode(), osp.join(runner.work_dir, "weights_consistency.json"))
        runner.logger.info(f"weights consistent across {get_world_size()} processes: {same}")
        if not same:
            raise RuntimeError(f"weights differ between the {get_world_size()} processes after training")
