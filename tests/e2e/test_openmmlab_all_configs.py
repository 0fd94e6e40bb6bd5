"""Every shipped config with OpenMMLab's own tools as shipped (slow, not in CI:
``pytest -m slow tests/e2e/test_openmmlab_all_configs.py``; CI runs one config per library in test_openmmlab_tools.py).

* Configs whose data is made here (digits, digit scenes, generated shapes) train 2 iterations or one short epoch
  with mmpretrain's (classification, point clouds) or mmseg's (segmentation) tools/train.py, then test the
  checkpoint with the same library's tools/test.py. Only data roots, data sizes, schedule lengths and, for the
  fine-tuning configs, the path of the converted ImageNet checkpoint are overridden.
* Configs whose data cannot be had here (ImageNet, ADE20K, VOC, ModelNet40, ShapeNetPart) must build, count
  FLOPs with the library's get_flops.py (image models) and fail in tools/train.py only on the missing data root.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from tests.support import ROOT, load_cfg
from tests.support.openmmlab import data_options, openmmlab_tool

CONFIGS = sorted(p for p in (ROOT / "configs").rglob("*.py") if "_base_" not in p.parts)
METRIC = {"mmpretrain": r"(accuracy/top1|point/OA|part/ins_mIoU|gen/fd): [0-9.]+", "mmseg": r"mIoU: [0-9.]+",
          "mmdet": r"coco/bbox_mAP: [0-9.]+"}
SCOPES = {"mmseg": "mmseg", "mmdet": "mmdet"}  # default_scope -> the library whose tools run it (else mmpretrain)


@pytest.fixture(scope="module")
def made_data(tmp_path_factory) -> dict[str, Path]:  # noqa: ANN001
    """The configs' data roots mapped to data made here."""
    from backbones.bundled.digit_detection import prepare as detection
    from backbones.bundled.digit_scenes import prepare as scenes
    from backbones.bundled.digits import prepare as digits
    from backbones.bundled.shapes import prepare as shapes

    root = tmp_path_factory.mktemp("data")
    made = shapes(root / "shapes", n_train=8, n_test=2, points=512)  # batch 32 with drop_last needs >= 32 shapes
    return {"data/digits": digits(root / "digits"), "data/digit_scenes": scenes(root / "scenes", n_train=16, n_val=8),
            "data/shapes/modelnet_shapes": made["cls"], "data/shapes/shapenetpart_shapes": made["part"],
            "data/digit_detection": detection(root / "digit_detection", n_train=4, n_val=2)}


def converted_checkpoint(arch: str, folder: Path) -> Path:
    """An official-layout checkpoint of ``arch`` (random weights) converted by tools/convert_checkpoint.py."""
    from backbones.cli import convert as convert_checkpoint
    from tests.support.official import container, source_model

    fmt, ref = source_model(arch)
    torch.save(container(fmt, ref.state_dict()), folder / "official.pth")
    assert convert_checkpoint.main([fmt, str(folder / "official.pth"), str(folder / f"{arch}.pth")]) == 0
    return folder / f"{arch}.pth"


def own_checkpoint(cfg: Config, folder: Path) -> Path:
    """A checkpoint of a config's own backbone (random weights, keys under ``backbone.``): the pre-training of a
    fine-tuning config whose backbone is not an official preset is one of the zoo's own models."""
    from backbones import MixerViT

    assert cfg.model.backbone.type == "MixerViT", cfg.model.backbone.type
    spec = {k: v for k, v in cfg.model.backbone.items() if k not in ("type", "init_cfg")}
    state = {f"backbone.{k}": v for k, v in MixerViT(**spec).state_dict().items()}
    torch.save({"state_dict": state}, folder / "own.pth")
    return folder / "own.pth"


def data_root_keys(dataset: dict, key: str) -> list[str]:
    """``--cfg-options`` keys of every data root in a dataset config, through ConcatDataset / RepeatDataset."""
    if "datasets" in dataset:
        return [k for i, d in enumerate(dataset["datasets"]) for k in data_root_keys(d, f"{key}.datasets.{i}")]
    if "dataset" in dataset:
        return data_root_keys(dataset["dataset"], f"{key}.dataset")
    return [f"{key}.data_root"]


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT / "configs")))
def test_shipped_config_with_openmmlab_tools(path: Path, made_data: dict, tmp_path: Path) -> None:
    cfg = load_cfg(path)
    lib = SCOPES.get(cfg.get("default_scope"), "mmpretrain")
    data = made_data.get(str(cfg.train_dataloader.dataset.get("data_root")).rstrip("/"))
    by_epoch = cfg.train_cfg.get("by_epoch", cfg.train_cfg.get("type") == "EpochBasedTrainLoop")
    if data is None:
        missing = tmp_path / "absent"
        roots = [f"{key}={missing}" for split in ("train", "val", "test")
                 for key in data_root_keys(cfg[f"{split}_dataloader"].dataset, f"{split}_dataloader.dataset")]
        proc = openmmlab_tool(lib, "train.py", str(path), "--work-dir", str(tmp_path / "w"), "--cfg-options", *roots,
                              check=False)
        err = proc.stderr.strip().splitlines()
        assert proc.returncode != 0 and str(missing) in err[-1] and "Error" in err[-1], proc.stderr[-3000:]
        if lib == "mmpretrain" and "pointcloud" not in path.parts:  # mmpretrain's get_flops takes images
            out = openmmlab_tool(lib, "analysis_tools/get_flops.py", str(path), "--shape", "224")
            assert re.search(r"Flops: [0-9.]+G", out.stdout + out.stderr), out.stdout[-2000:]
        elif lib == "mmseg":  # mmseg 1.2.2's get_flops.py fails for every config with mmengine 0.10 (it passes both
            # input_shape and inputs to get_model_complexity_info): the zoo's counter instead
            out = subprocess.run([sys.executable, "tools/analysis/get_flops.py", str(path), "--shape", "512", "512"],
                                 cwd=ROOT, capture_output=True, text=True, timeout=900)
            row = re.search(r"\| [0-9,]+ \| [0-9.]+ \| [0-9.]+ \|", out.stdout)
            assert out.returncode == 0 and row, out.stderr[-2000:]
        return
    opts = data_options(data)
    for split in ("val", "test"):  # evaluators that read the data themselves
        evaluator = cfg[f"{split}_evaluator"]
        if "ann_file" in evaluator:  # COCO: the annotation file, parsed from the data root
            opts.append(f"{split}_evaluator.ann_file={data}/annotations/instances_val.json")
        if "data_root" in evaluator:  # the GAN metric: the real images
            opts.append(f"{split}_evaluator.data_root={data}")
    for key in ("score_thr", "rcnn.score_thr"):  # detectors: keep every detection (after 2 steps none passes)
        if _has(cfg.model.get("test_cfg") or {}, key):
            opts.append(f"model.test_cfg.{key}=0.0")
    if data == made_data["data/digits"]:  # 1,438 training images: a subset
        opts += ["train_dataloader.dataset.indices=128", "val_dataloader.dataset.indices=32",
                 "test_dataloader.dataset.indices=32"]
    opts += (["train_cfg.max_epochs=1", "train_cfg.val_interval=1"] if by_epoch else
             ["train_cfg.max_iters=2", "train_cfg.val_interval=2", "default_hooks.checkpoint.interval=2"])
    init = cfg.model.get("backbone", {}).get("init_cfg")
    if isinstance(init, dict) and init.get("type") == "Pretrained":
        arch = cfg.model.backbone.arch
        ckpt = converted_checkpoint(arch, tmp_path) if isinstance(arch, str) else own_checkpoint(cfg, tmp_path)
        opts.append(f"model.backbone.init_cfg.checkpoint={ckpt}")
    work = tmp_path / "work"
    train = openmmlab_tool(lib, "train.py", str(path), "--work-dir", str(work), "--cfg-options", *opts)
    assert re.search(METRIC[lib], train.stdout + train.stderr), train.stdout[-2000:]
    ckpt = (work / "last_checkpoint").read_text().strip()
    test = openmmlab_tool(lib, "test.py", str(path), ckpt, "--work-dir", str(tmp_path / "test"), "--cfg-options",
                          *opts)
    assert re.search(METRIC[lib], test.stdout + test.stderr), test.stdout[-2000:]


def _has(cfg: dict, dotted: str) -> bool:
    """Whether the nested dict ``cfg`` holds the dotted key."""
    for part in dotted.split("."):
        if not isinstance(cfg, dict) or part not in cfg:
            return False
        cfg = cfg[part]
    return True
