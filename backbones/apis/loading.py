"""Loading for the tools: a config's model with a checkpoint (read with the safe loader), and inputs through the
config's test pipeline and the model's data preprocessor."""
from __future__ import annotations

import torch


def load_model(config: str, checkpoint: str | None):  # noqa: ANN201
    """(cfg, model in eval mode) for a config of the zoo, with ``checkpoint`` loaded strictly if given.

    Raises:
        NonFiniteWeightsError: the checkpoint holds NaN or infinite weights (named, with the first bad tensor).
    """
    from mmengine.config import Config

    from backbones.engine.checkpoint.finite import check_finite_weights
    from backbones.engine.checkpoint.pretrained import load_checkpoint_into
    from backbones.engine.runner.config import build_model, resolve_auto_num_classes

    cfg = Config.fromfile(config)
    resolve_auto_num_classes(cfg)
    model = build_model(cfg)  # with the config's data preprocessor (normalisation) merged in
    if checkpoint:
        load_checkpoint_into(model, checkpoint)
        check_finite_weights(model, checkpoint)
    return cfg, model.eval()


def load_images(cfg, model, paths: list[str]) -> torch.Tensor:  # noqa: ANN001
    """Images through the config's test pipeline and the model's data preprocessor: (I, 3, H, W)."""
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
        inputs = [pipeline(dict(img_path=p))["inputs"] for p in paths]
    return model.data_preprocessor(dict(inputs=inputs), False)["inputs"]


def dataset_images(cfg, count: int) -> list[str]:  # noqa: ANN001
    """``count`` image paths of the config's test set, evenly spaced over it (class-per-folder sets list their
    images class by class: the first ``count`` would cover a few classes only); all of them if it has fewer."""
    from mmengine.registry import DATASETS, DefaultScope

    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
    n = len(dataset)
    return [dataset.get_data_info(i * n // min(count, n))["img_path"] for i in range(min(count, n))]


def test_batch(cfg, count: int) -> tuple[dict, dict]:  # noqa: ANN001
    """The first ``count`` samples of the config's test set through its pipeline, collated (``pseudo_collate``; the
    model's data preprocessor makes the network's inputs of it), and the test set's meta information.

    Raises:
        SystemExit: the test set is missing or empty (the message names its data root).
    """
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DATASETS, DefaultScope

    with DefaultScope.overwrite_default_scope(cfg.get("default_scope")):
        try:
            dataset = DATASETS.build(cfg.test_dataloader.dataset)
        except FileNotFoundError as e:
            raise SystemExit(f"error: the test set of the config ({cfg.test_dataloader.dataset.get('data_root')}) "
                             f"cannot be read: {e}; prepare it, or give an image with --input") from None
        if len(dataset) == 0:
            raise SystemExit(f"error: the test set of the config ({cfg.test_dataloader.dataset.get('data_root')}) is "
                             f"empty; give an image with --input")
        return pseudo_collate([dataset[i % len(dataset)] for i in range(count)]), dict(dataset.metainfo)

