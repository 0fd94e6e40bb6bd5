"""Fine-tuning from converted checkpoints, ImageNet recipes on a tiny ImageNet folder and a user's class
folders, trained end to end (the zoo's train tool, few iterations)."""
from __future__ import annotations

import pytest
import torch

import backbones  # noqa: F401
from backbones.cli import convert as convert_checkpoint
from backbones.engine.checkpoint.safe_load import safe_load
from backbones.engine.runner.config import resolve_auto_num_classes
from backbones.models.layers.pos_embed import resize_tokens
from tests.support import ROOT, build_classifier, digits_config, load_cfg, run_tool, small_config
from tests.support.official import container, source_model

FINETUNE = {
    "vit-tiny": ROOT / "configs/classification/digits/mixervit_vit-tiny-in1k-pre_1xb64-10e_digits-64px.py",
    "ff-tiny": ROOT / "configs/classification/digits/mixervit_ff-tiny-in1k-pre_1xb64-10e_digits-64px.py",
}


@pytest.mark.parametrize("arch", sorted(FINETUNE))
def test_finetune_loads_every_backbone_key(arch: str, tmp_path, digits) -> None:  # noqa: ANN001, F811
    fmt, ref = source_model(arch)
    torch.save(container(fmt, ref.state_dict()), tmp_path / "official.pth")
    ckpt = tmp_path / "converted.pth"
    assert convert_checkpoint.main([fmt, str(tmp_path / "official.pth"), str(ckpt)]) == 0
    source = torch.load(ckpt, weights_only=True)["state_dict"]

    cfg = load_cfg(FINETUNE[arch])
    cfg.model.backbone.init_cfg.checkpoint = str(ckpt)
    assert cfg.model.head.num_classes == 10 and resolve_auto_num_classes(cfg) is None  # complete as shipped
    model = build_classifier(cfg)
    model.init_weights()
    state = model.state_dict()
    backbone_keys = [k for k in source if k.startswith("backbone.")]
    assert backbone_keys and {k for k in state if k.startswith("backbone.")} == set(backbone_keys)
    for k in backbone_keys:
        want = source[k]
        if k == "backbone.pos_embed.pos_embed" and want.shape != state[k].shape:
            want = resize_tokens(want, (14, 14), model.backbone.pos_embed.grid, 1)
        torch.testing.assert_close(state[k], want, msg=f"{k} was not loaded")
    assert state["head.fc.weight"].shape == (10, 192)  # re-initialised for the new classes
    # and it trains: a few iterations through the real tool
    small = small_config(tmp_path, digits, base=FINETUNE[arch], train_images=32, epochs=1,
                         extra=f"model = dict(backbone=dict(init_cfg=dict(checkpoint='{ckpt}')))")
    log = run_tool("tools/train.py", str(small), "--work-dir", str(tmp_path / "ft")).stdout
    assert (tmp_path / "ft" / "epoch_1.pth").exists()
    total = len(model.backbone.state_dict())  # the load says what it read, resized and left
    line = next((x for x in log.splitlines() if f"loaded {ckpt}: {total} of {total} tensors" in x), None)
    assert line is not None and line.endswith("left at init: none; unexpected: none"), log[-3000:]
    resized = [k for k in backbone_keys if source[k].shape != state[k].shape]
    assert resized == (["backbone.pos_embed.pos_embed"] if arch == "vit-tiny" else [])  # FF resizes at each forward
    for k in resized:
        shape = "x".join(map(str, source[k].shape)), "x".join(map(str, state[k].shape))
        assert f"resized {k.removeprefix('backbone.')} {shape[0]} -> {shape[1]}" in line, line


def write_tiny_imagenet(root) -> None:  # noqa: ANN001
    """An ImageNet-layout folder (train/, val/, meta/{train,val}.txt) with a few random JPEGs."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", 8), ("val", 4)):
        lines = []
        for i in range(n):
            rel = f"n{i:08d}/img_{i}.JPEG"
            (root / split / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (160, 200, 3), dtype=np.uint8)).save(root / split / rel)
            lines.append(f"{rel} {i * 37 % 1000}")
        (root / "meta").mkdir(exist_ok=True)
        (root / "meta" / f"{split}.txt").write_text("\n".join(lines) + "\n")


IMAGENET = sorted((ROOT / "configs/classification/imagenet").glob("*.py"))


QUICK = {"mixervit_vit-tiny_8xb128-300e_in1k-224px.py", "mixervit_ff-tiny_8xb128-300e_in1k-224px.py",
         "mixervit_deepvit-s_8xb128-300e_in1k-224px.py", "mixervit_eamlp-7_8xb64-310e_in1k-224px.py"}


@pytest.mark.parametrize("config", [c if c.name in QUICK else pytest.param(c, marks=pytest.mark.slow)
                                    for c in IMAGENET], ids=lambda c: c.stem)
def test_imagenet_recipe_trains_on_a_tiny_imagenet(config, tmp_path) -> None:  # noqa: ANN001
    """Two iterations of the full recipe: RandAugment, random erasing, Mixup/CutMix, EMA where used."""
    write_tiny_imagenet(tmp_path / "imagenet")
    work = tmp_path / "work"
    loader = "num_workers=0 persistent_workers=False batch_size=4"
    opts = [f"{d}.{kv}" for d in ("train_dataloader", "val_dataloader", "test_dataloader") for kv in loader.split()]
    opts += [f"{d}.dataset.data_root={tmp_path / 'imagenet'}" for d in ("train_dataloader", "val_dataloader",
                                                                          "test_dataloader")]
    opts += ["train_cfg.max_epochs=1", "default_hooks.logger.interval=1"]
    proc = run_tool("tools/train.py", str(config), "--work-dir", str(work), "--cfg-options", *opts)
    log = proc.stdout + proc.stderr
    assert "accuracy/top1" in log and (work / "epoch_1.pth").exists()


def make_folder(root, classes=("cat", "dog"), per_class: int = 2) -> None:  # noqa: ANN001
    import numpy as np
    from PIL import Image

    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(root / c / f"{i}.png")


def test_user_folder_trains_with_auto_num_classes(tmp_path) -> None:  # noqa: ANN001
    """Three classes instead of ten: with num_classes='auto' in the user's config, tools/train.py counts the
    class folders (the shipped configs say 10)."""
    for split in ("train", "val"):
        make_folder(tmp_path / "mine" / split, classes=("ant", "bee", "cow"), per_class=4)
    cfg = tmp_path / "mine.py"
    cfg.write_text(f"_base_ = ['{digits_config('reattention')}']\n"
                   f"data_root = '{tmp_path / 'mine'}'\n"
                   "train_dataloader = dict(dataset=dict(data_root=data_root))\n"
                   "val_dataloader = dict(dataset=dict(data_root=data_root))\ntest_dataloader = val_dataloader\n"
                   "model = dict(head=dict(num_classes='auto'))\ndata_preprocessor = dict(num_classes='auto')\n"
                   "train_cfg = dict(max_epochs=1, val_interval=1)\n")
    run_tool("tools/train.py", str(cfg), "--work-dir", str(tmp_path / "w"))
    assert safe_load(tmp_path / "w" / "epoch_1.pth")["state_dict"]["head.fc.weight"].shape[0] == 3
