"""Hooks of the zoo, registered in mmengine's root ``HOOKS``."""
from __future__ import annotations

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from backbones.utils.files import write_atomic


@HOOKS.register_module()
class WeightsConsistencyHook(Hook):
    """After training, check that every process holds the same weights (data-parallel sanity check).

    Each rank computes a float64 checksum vector of its parameters and buffers; rank 0 writes all of
    them to ``work_dir/weights_consistency.json`` and every rank raises if they differ.

    Args:
        parameters_only: compare the parameters only (a GAN's generator keeps per-process BatchNorm statistics,
            as data parallelism without synchronised BatchNorm does).
    """

    priority = "LOWEST"

    def __init__(self, parameters_only: bool = False) -> None:
        self.parameters_only = parameters_only

    def after_train(self, runner) -> None:  # noqa: ANN001
        import json
        import os.path as osp

        from mmengine.dist import all_gather_object, get_rank, get_world_size

        model = runner.model.module if hasattr(runner.model, "module") else runner.model
        tensors = (dict(model.named_parameters()) if self.parameters_only else model.state_dict()).values()
        sums = [float(t.detach().double().sum()) for t in tensors if t.is_floating_point()]
        gathered = all_gather_object(sums)
        same = all(g == gathered[0] for g in gathered)
        if get_rank() == 0:
            report = dict(world_size=get_world_size(), consistent=same, checksums=gathered)
            write_atomic(json.dumps(report).encode(), osp.join(runner.work_dir, "weights_consistency.json"))
        runner.logger.info(f"weights consistent across {get_world_size()} processes: {same}")
        if not same:
            raise RuntimeError(f"weights differ between the {get_world_size()} processes after training")


@HOOKS.register_module()
class PreciseBNStatsHook(Hook):
    """Recompute every BatchNorm's running statistics on training data (Precise BN) every ``interval``.

    The running averages that BN keeps during training lag the weights; models whose BN sees
    attention maps (Re-attention's BatchNorm over heads) evaluate far below their training accuracy
    with them. This hook resets them and averages the batch statistics of ``num_samples`` training
    samples, with every other module in eval mode (no dropout or drop-path: the statistics of the
    network that will be evaluated). The interval counts epochs in epoch-based loops and iterations
    in iteration-based ones.

    Unlike mmpretrain's ``PreciseBNHook``, it reads the data through a fresh loader (same dataset,
    batch size and collate function, seeded shuffle, no workers), so it also works with iteration-
    based loops and persistent workers, where that hook received no batch and set the statistics to
    zero; and it fails loudly if no batch arrives.

    Args:
        num_samples: training samples to average over (rounded down to whole batches, at least one).
        interval: run every this many epochs / iterations (and at the end of training).
        seed: seed of the shuffle.
    """

    priority = "ABOVE_NORMAL"  # before the checkpoint hook, so checkpoints hold the new statistics

    def __init__(self, num_samples: int = 1024, interval: int = 1, seed: int = 0) -> None:
        if num_samples <= 0 or interval <= 0:
            raise ValueError(f"PreciseBNStatsHook: num_samples and interval must be positive, "
                             f"got {num_samples} and {interval}")
        self.num_samples, self.interval, self.seed = num_samples, interval, seed

    def after_train_epoch(self, runner) -> None:  # noqa: ANN001
        from mmengine.runner import EpochBasedTrainLoop

        if isinstance(runner.train_loop, EpochBasedTrainLoop) and (
                self.every_n_epochs(runner, self.interval) or self.is_last_train_epoch(runner)):
            self.recompute(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:  # noqa: ANN001
        from mmengine.runner import IterBasedTrainLoop

        if isinstance(runner.train_loop, IterBasedTrainLoop) and (
                self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner)):
            self.recompute(runner)

    def recompute(self, runner) -> None:  # noqa: ANN001
        """Reset and re-estimate the BN statistics of ``runner.model`` from its training data."""
        from torch.utils.data import DataLoader

        model = runner.model.module if hasattr(runner.model, "module") else runner.model
        bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
               and m.training and m.track_running_stats]
        if not bns:
            runner.logger.warning("PreciseBNStatsHook: the model has no BatchNorm in training mode")
            return
        train_loader = runner.train_loop.dataloader
        if len(train_loader.dataset) == 0:
            raise RuntimeError("PreciseBNStatsHook: the training dataset is empty (no batch); BN statistics not "
                               "recomputed")
        batch_size = train_loader.batch_size or 1
        loader = DataLoader(train_loader.dataset, batch_size=batch_size, shuffle=True, num_workers=0,
                            collate_fn=train_loader.collate_fn, drop_last=len(train_loader.dataset) >= batch_size,
                            generator=torch.Generator().manual_seed(self.seed))
        steps = min(max(self.num_samples // batch_size, 1), len(loader))
        momenta = [bn.momentum for bn in bns]
        model.eval()
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the batches below
            bn.train()
        seen = 0
        try:
            with torch.no_grad():
                for data in loader:
                    model(**model.data_preprocessor(data, False), mode="tensor")
                    seen += 1
                    if seen == steps:
                        break
        finally:
            for bn, momentum in zip(bns, momenta):
                bn.momentum = momentum
            model.train()
        if seen == 0:
            raise RuntimeError("PreciseBNStatsHook: the training dataset gave no batch; BN statistics not recomputed")
        runner.logger.info(f"PreciseBNStatsHook: statistics of {len(bns)} BatchNorm layers recomputed "
                           f"from {seen} batches of {batch_size}")


class ClassCountError(ValueError):
    """The data's class count differs from the model's (the message names both and where they come from)."""


def model_class_count(model: nn.Module) -> tuple[int, str] | None:
    """The number of classes a model predicts or is conditioned on, and where it is read: the ``num_classes`` of
    its ``head``, ``decode_head`` or ``generator``, or its own; None when it has none (a part-segmentation head)."""
    model = model.module if hasattr(model, "module") else model
    for name in ("head", "decode_head", "generator", None):
        part = getattr(model, name, None) if name else model
        n = getattr(part, "num_classes", None)
        if isinstance(n, int) and not isinstance(n, bool):
            return n, f"{type(model).__name__}{'.' + name if name else ''}.num_classes"
    return None


@HOOKS.register_module()
class ClassCountCheckHook(Hook):
    """Before a run (training or test), refuse data whose class count differs from the model's.

    A test set with 12 class folders against a 10-class classifier was scored (75% with two classes never
    predictable) and a conditional GAN given 12 classes with ``num_classes=10`` failed with an ``IndexError`` in an
    embedding: both are :class:`ClassCountError` naming the split, its folder or dataset, the counts and the
    model's attribute. Every built loop's dataset is checked (its ``metainfo['classes']``); a model without a
    ``num_classes`` (see :func:`model_class_count`) or a dataset without classes is not.
    """

    priority = "VERY_HIGH"

    def before_run(self, runner) -> None:  # noqa: ANN001
        """Compare the class count of each built loop's dataset with the model's."""
        from mmengine.runner import BaseLoop

        found = model_class_count(runner.model)
        if found is None:
            return
        n, where = found
        for split in ("train", "val", "test"):
            loop = getattr(runner, f"_{split}_loop", None)
            if not isinstance(loop, BaseLoop):
                continue
            dataset = loop.dataloader.dataset
            classes = (getattr(dataset, "metainfo", None) or {}).get("classes")
            if classes and len(classes) != n:
                source = getattr(dataset, "img_prefix", None) or getattr(dataset, "data_root", None) \
                    or type(dataset).__name__
                raise ClassCountError(
                    f"the {split} data ({source}) has {len(classes)} classes {list(classes)[:16]}, the model "
                    f"{n} ({where}): labels beyond {n - 1} cannot be predicted or embedded. Give the model the "
                    f"data's class count (num_classes; the zoo's tools accept num_classes='auto'), or point the "
                    f"config at the data it was made for")


@HOOKS.register_module()
class FiniteWeightsCheckHook(Hook):
    """Before testing, refuse a model holding NaN or infinite weights, naming the checkpoint (``load_from``) and the
    first bad tensor (:func:`~backbones.engine.checkpoint.finite.check_finite_weights`); tools/test.py adds it."""

    priority = "HIGHEST"  # before DeployHook converts the model

    def before_test(self, runner) -> None:  # noqa: ANN001
        """Check the loaded weights."""
        from backbones.engine.checkpoint.finite import check_finite_weights

        model = runner.model.module if hasattr(runner.model, "module") else runner.model
        check_finite_weights(model, str(runner.cfg.get("load_from") or "(no checkpoint)"))
