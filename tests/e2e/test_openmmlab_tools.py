"""OpenMMLab's own entry points on the shipped configs, run as a user runs them: the train / test / get_flops tools
that ship inside the installed mmpretrain and mmseg wheels (subprocesses, ``custom_imports`` finding this
checkout), mmpretrain's and mmseg's inferencers on the checkpoints those tools write, and mmpretrain's
``get_model`` / ``list_models``. Only data roots, data sizes and schedule lengths are overridden."""
from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import backbones  # noqa: F401  (the model index in mmpretrain's ModelHub; mmengine's safe checkpoint loaders)
from tests.support import DIGITS_CFG, ROOT
from tests.support.openmmlab import data_options, openmmlab_tool

SEG_CFG = ROOT / "configs/segmentation/digit_scenes/upernet_selfattention-cnn-p4-w64-d4_1xb8-4k_digit-scenes-64px.py"


@pytest.fixture(scope="module")
def cls_run(tmp_path_factory, digits) -> Path:  # noqa: ANN001, F811
    """mmpretrain's tools/train.py on the shipped self-attention digits config: 2 iterations; the work dir."""
    work = tmp_path_factory.mktemp("mmpretrain_train")
    log = openmmlab_tool("mmpretrain", "train.py", str(DIGITS_CFG), "--work-dir", str(work), "--cfg-options",
                         *data_options(digits), "train_dataloader.dataset.indices=128",
                         "val_dataloader.dataset.indices=32", "train_cfg.max_epochs=1")
    assert "accuracy/top1" in log.stdout + log.stderr and (work / "epoch_1.pth").exists()
    return work


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:  # noqa: ANN001
    from backbones.bundled.digit_scenes import prepare

    return prepare(tmp_path_factory.mktemp("seg") / "digit_scenes", n_train=16, n_val=8)


@pytest.fixture(scope="module")
def seg_run(tmp_path_factory, scenes) -> Path:  # noqa: ANN001
    """mmseg's tools/train.py on the shipped self-attention digit-scenes config: 2 iterations; the work dir.

    The optimizer is built by the zoo's layer-decay constructor (as in the ADE20K configs), named in mmseg's scope.
    """
    work = tmp_path_factory.mktemp("mmseg_train")
    log = openmmlab_tool("mmseg", "train.py", str(SEG_CFG), "--work-dir", str(work), "--cfg-options",
                         *data_options(scenes), "train_cfg.max_iters=2", "train_cfg.val_interval=100",
                         "default_hooks.checkpoint.interval=2",
                         "optim_wrapper.constructor=LayerDecayOptimWrapperConstructor",
                         "optim_wrapper.paramwise_cfg.layer_decay_rate=0.9")
    assert "layer-wise lr decay 0.9: lr scale by depth 0: 0.5905" in log.stdout + log.stderr  # 0.9 ** 5, 4 blocks
    assert (work / "iter_2.pth").exists()
    return work


def test_mmpretrain_test_tool_and_inferencer_agree(cls_run: Path, digits: Path, tmp_path: Path) -> None:  # noqa: F811
    """mmpretrain's test.py (--out, --show-dir) and ImageClassificationInferencer give the same scores."""
    from mmpretrain import ImageClassificationInferencer

    ckpt, out, show = cls_run / "epoch_1.pth", tmp_path / "preds.pkl", tmp_path / "show"
    proc = openmmlab_tool("mmpretrain", "test.py", str(DIGITS_CFG), str(ckpt), "--work-dir", str(tmp_path / "t"),
                          "--out", str(out), "--show-dir", str(show), "--cfg-options",
                          *data_options(digits, ("test",)), "test_dataloader.dataset.indices=16")
    assert re.search(r"accuracy/top1: [0-9.]+", proc.stdout + proc.stderr)
    preds = pickle.loads(out.read_bytes())
    assert len(preds) == 16 and len(list(show.glob("*.png"))) == 16
    inferencer = ImageClassificationInferencer(str(DIGITS_CFG), pretrained=str(ckpt))
    results = inferencer([p["img_path"] for p in preds[:4]])
    for pred, res in zip(preds, results):
        np.testing.assert_allclose(res["pred_scores"], pred["pred_score"].numpy(), rtol=1e-4, atol=1e-6)
        assert res["pred_class"] == str(res["pred_label"])  # class names from the checkpoint's dataset meta


def test_mmpretrain_get_model_and_list_models(cls_run: Path) -> None:
    """Our classification models by name: listed beside mmpretrain's own, built without weights, or from a local
    checkpoint."""
    import yaml
    from mmengine.runner import CheckpointLoader
    from mmpretrain import get_model, list_models

    from backbones import PRESETS

    ours = [m["Name"] for m in yaml.safe_load((ROOT / "configs/classification/metafile.yml").read_text())["Models"]]
    names = list_models()
    assert set(ours) <= set(names) and "deit-small_4xb256_in1k" in names  # mmpretrain's index still loads
    assert not any(n.startswith(("seg-", "pct-")) for n in names)
    assert list_models("eamlp") == sorted(n for n in PRESETS if n.startswith("eamlp"))
    model = get_model("vit-tiny")
    assert type(model.backbone).__name__ == "MixerViT"
    assert sum(p.numel() for p in model.parameters()) == PRESETS["vit-tiny"]["params"]
    ckpt = cls_run / "epoch_1.pth"
    trained = CheckpointLoader.load_checkpoint(str(ckpt), map_location="cpu")["state_dict"]
    model = get_model("digits-selfattention", pretrained=str(ckpt))
    assert model.state_dict().keys() == trained.keys()
    assert all(torch.equal(v, trained[k]) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="Failed to find model"):
        get_model("seg-ade20k-eanet")


def test_mmpretrain_get_flops_tool() -> None:
    """mmpretrain's analysis_tools/get_flops.py on a shipped ImageNet config (no data needed)."""
    config = ROOT / "configs/classification/imagenet/mixervit_eamlp-7_8xb64-310e_in1k-224px.py"
    proc = openmmlab_tool("mmpretrain", "analysis_tools/get_flops.py", str(config), "--shape", "224")
    text = proc.stdout + proc.stderr
    assert re.search(r"Flops: [0-9.]+G", text) and re.search(r"Params: 6\.1[0-9]*M", text), text[-2000:]


def test_mmseg_test_tool_draws_every_image(seg_run: Path, scenes: Path, tmp_path: Path) -> None:
    """mmseg's test.py --show-dir writes one picture per image (visualization interval 1), --out the label maps."""
    show, out = tmp_path / "show", tmp_path / "out"
    # mmseg's visualization hook reads runner.iter, which builds the training loop: the train root must exist too
    proc = openmmlab_tool("mmseg", "test.py", str(SEG_CFG), str(seg_run / "iter_2.pth"), "--work-dir",
                          str(tmp_path / "t"), "--show-dir", str(show), "--out", str(out), "--cfg-options",
                          *data_options(scenes, ("train", "test")))
    assert re.search(r"mIoU: [0-9.]+", proc.stdout + proc.stderr)
    assert len(list(show.rglob("*.png"))) == 8 and len(list(out.glob("*.png"))) == 8


def test_mmseg_inferencers_on_images_alone(seg_run: Path, scenes: Path) -> None:
    """MMSegInferencer and init_model + inference_model drop LoadAnnotations: the label check must let them be."""
    from mmseg.apis import MMSegInferencer, inference_model, init_model

    ckpt = str(seg_run / "iter_2.pth")
    images = sorted(str(p) for p in (scenes / "img_dir" / "val").glob("*.png"))[:2]
    preds = MMSegInferencer(str(SEG_CFG), weights=ckpt, device="cpu")(images)["predictions"]
    model = init_model(str(SEG_CFG), ckpt, device="cpu")
    for img, pred in zip(images, preds):
        sample = inference_model(model, img)
        assert pred.shape == (64, 64) and pred.max() < 11
        np.testing.assert_array_equal(pred, sample.pred_sem_seg.data[0].numpy())
