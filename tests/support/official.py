"""Official-layout checkpoints for the conversion tests: a preset's source model with random weights (timm's, or
the lab's reference written from the official code) and the container its official training code saves."""
from __future__ import annotations

import torch

from lab.reference import REFERENCES, randomize_


def source_model(arch: str) -> tuple[str, torch.nn.Module]:
    """(format, official-layout model with random weights) for a preset."""
    fmt, factory = REFERENCES[arch]
    return fmt, randomize_(factory())


def container(fmt: str, state: dict) -> dict:
    """Wrap a state dict as the official training code saves it."""
    if fmt == "timm":
        return state
    if fmt == "ff":  # DeiT-style
        return {"model": state, "epoch": 3}
    # timm CheckpointSaver (DeepViT, EAMLP): DataParallel prefix in the raw weights, EMA weights preferred
    noise = {"module." + k: v + 1.0 if v.is_floating_point() else v for k, v in state.items()}
    return {"state_dict": noise, "state_dict_ema": state, "epoch": 3}
