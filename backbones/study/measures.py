"""What a study records of a run besides its metric: the machine, the model's size, the final training loss."""
from __future__ import annotations

import json
import platform
import statistics
import warnings
from pathlib import Path


def machine_info(threads: int) -> dict[str, str | int]:
    """CPU model (``/proc/cpuinfo``), the instruction set torch's kernels use, threads per run, torch version."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return dict(cpu=cpu, isa=torch.backends.cpu.get_cpu_capability(), threads=threads, torch=torch.__version__)


def count_params(config: Path) -> int:
    """Parameters of a config's model, built here as the Runner builds it.

    The config's ``custom_imports`` are imported except ``backbones.safe_loading`` (it switches mmengine's
    checkpoint loader to the safe one; this process loads no checkpoint, so it changes nothing here).
    """
    import importlib

    from mmengine.config import Config

    from ..runner.config import build_model

    cfg = Config.fromfile(str(config), import_custom_modules=False)
    with warnings.catch_warnings():  # mmseg's deprecation notices, printed by the training process already
        warnings.simplefilter("ignore")
        for module in cfg.get("custom_imports", {}).get("imports", []):
            if module != "backbones.safe_loading":
                importlib.import_module(module)
        return sum(p.numel() for p in build_model(cfg).parameters())


def final_train_loss(work: Path) -> float:
    """Mean training loss over the last epoch's logged iterations (or the last tenth of an iteration-based run)."""
    logs = sorted(work.glob("*/vis_data/scalars.json"))
    if not logs:
        raise FileNotFoundError(f"{work}: no */vis_data/scalars.json")
    recs = [r for r in map(json.loads, logs[-1].read_text().splitlines()) if "loss" in r]
    if not recs:
        raise ValueError(f"{logs[-1]}: no training loss logged")
    if "epoch" in recs[-1]:
        recs = [r for r in recs if r.get("epoch") == recs[-1]["epoch"]]
    else:
        recs = recs[-max(1, len(recs) // 10):]
    return statistics.fmean(r["loss"] for r in recs)
