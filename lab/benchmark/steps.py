"""What the benchmark times: our models (a preset's backbone with a 1000-class head, or a config's model),
their baselines (timm's ViT, the references written from the official code), one inference batch or training
step of each, the GEMM rate probe and FLOP counts."""
from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
import torch.nn as nn

from lab.benchmark.isolation import Figures

GEMM_N = 2048


def gemm_step(n: int = GEMM_N) -> Callable[[], object]:
    """One float32 (n, n) x (n, n) matmul: the rate probe, 2 n^3 FLOPs."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    return lambda: a @ b


def gemm_rate(probe: Figures) -> float:
    """FLOP/s of the default :func:`gemm_step` from its timed figures."""
    return 2 * GEMM_N ** 3 / probe.seconds


def count_flops(model: nn.Module, x: torch.Tensor) -> int:
    """FLOPs (2 per multiply-add) of one forward pass (:func:`backbones.models.flop_count.forward_flops`)."""
    from backbones.models.flop_count import forward_flops

    return forward_flops(model, x)


def build_ours(target: str, img: int) -> nn.Module:
    """Our classifier for a preset (backbone + 1000-class head) or a config's model."""
    if target.endswith(".py"):
        from mmengine.config import Config

        from backbones.engine.runner.config import build_model, resolve_auto_num_classes

        cfg = Config.fromfile(target)
        resolve_auto_num_classes(cfg)
        return _Logits(build_model(cfg))
    from backbones.models.vit import MixerViT

    backbone = MixerViT(target, img_size=img)
    return nn.Sequential(_First(backbone), nn.Linear(backbone.embed_dims, 1000))


class _First(nn.Module):
    def __init__(self, m: nn.Module) -> None:
        super().__init__()
        self.m = m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.m(x)[-1]


class _Logits(nn.Module):
    def __init__(self, m: nn.Module) -> None:
        super().__init__()
        self.m = m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.m(x, mode="tensor")


def has_baseline(target: str) -> bool:
    """Whether ``target`` is a preset with a reference implementation (``lab.reference``)."""
    from lab.reference import REFERENCES

    return target in REFERENCES


def build_baseline(target: str) -> nn.Module:
    """The reference implementation of a preset (see the module docstring)."""
    from lab.reference import REFERENCES

    if target not in REFERENCES:
        raise ValueError(f"benchmark: {target!r} has no baseline; presets with one: {sorted(REFERENCES)}")
    return REFERENCES[target][1]()


KINDS = ("deploy", "plain", "compiled", "autotuned", "baseline", "gemm")
#: the kinds that run the converted model through :func:`backbones.deploy.compile.compile_for_inference`
COMPILED_KINDS = ("compiled", "autotuned")


def add_step_args(parser: argparse.ArgumentParser) -> None:
    """The flags that size a timed step, shared by the benchmark and ``time_step``: batch, image size, threads."""
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--img", type=int, default=224)
    parser.add_argument("--threads", type=int, default=2)


def build_step(target: str, kind: str = "deploy", train: bool = False, batch: int = 16,
               img: int = 224, precision: str = "fp32") -> Callable[[], object]:
    """One inference batch or training step of ``target`` in one of :data:`KINDS` (seeded, repeatable):
    our model converted for deployment (inference; training steps always take the plain model; in ``precision``),
    plain, converted and compiled (``autotuned``: with inductor's GEMM templates), the family's baseline; ``gemm``
    is the rate probe :func:`gemm_step` instead."""
    if kind not in KINDS:
        raise ValueError(f"benchmark: kind must be one of {KINDS}, got {kind!r}")
    torch.manual_seed(0)
    if kind == "gemm":
        return gemm_step()
    model, x = model_and_input(target, kind, train, batch, img, precision)
    if kind in COMPILED_KINDS:
        from backbones.deploy.compile import compile_for_inference

        model = compile_for_inference(model.eval(), autotune=kind == "autotuned")
    return step_fn(model, x, train)


def model_and_input(target: str, kind: str, train: bool, batch: int, img: int, precision: str = "fp32"
                    ) -> tuple[nn.Module, torch.Tensor]:
    """The model of a step (seeded): the baseline, or ours, converted for the inference of ``deploy`` (in
    ``precision``) and ``compiled``; and its input batch (seeded apart, so every kind sees the same images)."""
    torch.manual_seed(0)
    model = build_baseline(target) if kind == "baseline" else build_ours(target, img)
    if kind in ("deploy", *COMPILED_KINDS) and not train:
        from backbones.deploy.convert import convert_to_deploy

        model = convert_to_deploy(model, precision if kind == "deploy" else "fp32")
    torch.manual_seed(1)
    return model, torch.randn(batch, 3, img, img)


def onnx_step(target: str, kind: str = "deploy", batch: int = 16, img: int = 224,
              threads: int = 2, int8: bool = False) -> Callable[[], object]:
    """One inference batch of ``target`` exported to ONNX as ``tools/deploy/export.py`` writes it (from the
    ``torch.export`` program, dynamic batch) and run by onnxruntime's CPU provider with ``threads`` intra-op
    threads: what a deployment user runs. ``kind``: ``'deploy'`` (ours converted) or ``'baseline'``; ``int8``: the
    file quantized as ``--precision int8`` quantizes it (onnxruntime's dynamic quantizer)."""
    import tempfile
    from pathlib import Path

    import onnxruntime

    from backbones.deploy.export import export, quantize_onnx_int8

    if kind not in ("deploy", "baseline"):
        raise ValueError(f"benchmark: ONNX kind must be 'deploy' or 'baseline', got {kind!r}")
    model, x = model_and_input(target, kind, False, batch, img)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    with tempfile.TemporaryDirectory() as folder:  # the session holds the graph; the file can go
        path = export(model.eval(), [x], "onnx", Path(folder) / "model.onnx")
        if int8:
            quantize_onnx_int8(path, path)
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x.numpy()}
    return lambda: session.run(None, feed)[0]


def step_fn(model: nn.Module, x: torch.Tensor, train: bool) -> Callable[[], object]:
    """One inference forward, or one training step (forward, cross-entropy, backward, AdamW)."""
    if not train:
        model.eval()

        def infer() -> object:
            with torch.inference_mode():
                return model(x)
        return infer
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    labels: list[torch.Tensor] = []  # random targets over the model's own classes, drawn at the first step

    def train_step() -> object:
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        if not labels:
            labels.append(torch.randint(0, logits.shape[-1], (x.shape[0],)))
        loss = nn.functional.cross_entropy(logits, labels[0])
        loss.backward()
        opt.step()
        return loss
    return train_step


def count_train_flops(model: nn.Module, x: torch.Tensor) -> int:
    """FLOPs of one training step's forward and backward (cross-entropy on random labels)."""
    from backbones.models.flop_count import flop_counter

    model.train()
    with flop_counter() as counter:
        logits = model(x)
        nn.functional.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long)).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()
