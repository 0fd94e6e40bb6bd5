"""Fine-tuning from converted checkpoints, ImageNet recipes on a tiny ImageNet folder, user-data errors."""
from __future__ import annotations

import pytest
import torch

import backbones  # noqa: F401
from backbones.engine.runner.config import resolve_auto_num_classes


def test_pretrained_with_foreign_keys_fails_loudly(tmp_path) -> None:  # noqa: ANN001
    torch.save({"state_dict": {"backbone.something.weight": torch.zeros(3)}}, tmp_path / "x.pth")
    init = dict(type="Pretrained", checkpoint=str(tmp_path / "x.pth"), prefix="backbone.")
    model = backbones.MixerViT("vit-tiny", img_size=32, init_cfg=init)
    with pytest.raises(KeyError, match="something.weight"):
        model.init_weights()


def make_folder(root, classes=("cat", "dog"), per_class: int = 2) -> None:  # noqa: ANN001
    import numpy as np
    from PIL import Image

    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(root / c / f"{i}.png")


def image_folder(**kw):  # noqa: ANN003, ANN201
    from backbones.classification import ImageFolderDataset

    return ImageFolderDataset(pipeline=[dict(type="LoadImageFromFile")], **kw)


def test_missing_and_empty_folders_are_named(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nowhere")):
        image_folder(data_root=str(tmp_path / "nowhere"), data_prefix="train")
    for c in ("cat", "dog"):
        (tmp_path / "empty" / "train" / c).mkdir(parents=True)
    with pytest.raises(ValueError, match=r"empty/train.*no images"):
        image_folder(data_root=str(tmp_path / "empty"), data_prefix="train")
    from mmengine.config import Config

    cfg = Config(dict(model=dict(head=dict(num_classes="auto")),
                      train_dataloader=dict(dataset=dict(data_root=str(tmp_path / "nowhere"), data_prefix="train"))))
    with pytest.raises(FileNotFoundError, match="nowhere/train"):
        resolve_auto_num_classes(cfg)


def test_label_outside_class_list_is_named(tmp_path) -> None:  # noqa: ANN001
    make_folder(tmp_path / "imgs")
    (tmp_path / "ann.txt").write_text("cat/0.png 0\ndog/1.png 7\n")
    with pytest.raises(ValueError, match=r"ann.txt: sample 1 .*dog/1.png\) has label 7, outside the class list 0..1"):
        image_folder(data_root=str(tmp_path), data_prefix="imgs", ann_file="ann.txt", classes=["cat", "dog"])
    with pytest.raises(ValueError, match=r"imgs: class folders \['dog'\] are not among the 2 classes of the config's "
                                         r"classes \['cat', 'cow'\]"):
        image_folder(data_root=str(tmp_path), data_prefix="imgs", classes=["cat", "cow"])


def test_every_split_takes_the_training_classes(tmp_path) -> None:  # noqa: ANN001
    """train {5, 7} and val {5, 7}: 5 -> 0 and 7 -> 1 in both; val {0, 5, 7} is an error naming both folders (mmpretrain
    would label 5 as 0 in training and as 1 in validation); a val split missing a class is fine; one training class
    is an error."""
    make_folder(tmp_path / "train", classes=("5", "7"))
    make_folder(tmp_path / "val", classes=("7",))
    val = image_folder(data_root=str(tmp_path), data_prefix="val", classes_from="train")
    assert val.metainfo["classes"] == ("5", "7") and {val.get_data_info(i)["gt_label"] for i in range(len(val))} == {1}
    make_folder(tmp_path / "val", classes=("0", "5"))
    with pytest.raises(ValueError, match=rf"{tmp_path}/val: class folders \['0'\] are not among the 2 classes of the "
                                         rf"sub-folders of {tmp_path}/train \['5', '7'\]"):
        image_folder(data_root=str(tmp_path), data_prefix="val", classes_from="train")
    make_folder(tmp_path / "one" / "train", classes=("5",))
    with pytest.raises(ValueError, match=rf"{tmp_path}/one/train give 1 class\(es\) \['5'\]: a classifier needs at "
                                         r"least two"):
        image_folder(data_root=str(tmp_path / "one"), data_prefix="train", classes_from="train")


def test_unreadable_image_is_named(tmp_path) -> None:  # noqa: ANN001
    make_folder(tmp_path / "imgs")
    (tmp_path / "imgs" / "cat" / "0.png").write_bytes(b"this is not a png")
    ds = image_folder(data_root=str(tmp_path), data_prefix="imgs")
    idx = [i for i in range(len(ds)) if ds.get_data_info(i)["img_path"].endswith("cat/0.png")][0]
    with pytest.raises(Exception, match="cat/0.png"):
        ds[idx]
