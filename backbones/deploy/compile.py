"""The compiled inference path: ``torch.compile`` of a converted model's compute-heavy parts, weights frozen.

>>> from backbones.deploy import convert_to_deploy
>>> from backbones.deploy.compile import compile_for_inference
>>> model = compile_for_inference(convert_to_deploy(model))   # compiles on the first call

Inductor on the CPU fuses the passes that are not matrix products (GELU, softmax, LayerNorm, bias adds)
into generated C++ loops; *freezing* treats the weights as constants: folded, and packed once for the
CPU's matrix-product library (``mkl._mkl_linear`` / oneDNN), which is exact for a converted model (it
refuses ``.train()``). Freezing is an inductor setting that Dynamo reads while it traces, so passing it in
``torch.compile(options=...)`` does not reach it (the weights stay graph inputs); each compiled part
therefore runs under a scoped ``torch._inductor.config.patch(freezing=True)`` and ``torch.no_grad()``
(freezing applies to inference graphs only). Nothing global changes.

The first call compiles (seconds to minutes, and again for every new input shape); later calls run the
compiled code. The weights are read when a shape is compiled: change them afterwards and the compiled
outputs do not follow (convert and compile again). Each part's ``forward`` is replaced on the instance,
so names, parameters, hooks and ``state_dict`` keys stay as they were.

Memory: the frozen (packed) weights live in the compiled code that torch caches for the process, and they
are not released when the model is deleted (about twice the weights per compiled model, also after
``torch.compiler.reset()``: docs/benchmark.md). The holders: inductor's generated module for the graph stays in
``sys.modules`` with the frozen constants as globals, and Dynamo's cache entry references it; no public call removes
the former. Compile in a process that serves one model (``tools/test.py --compile``), not in a loop over many
models.

Which parts: an OpenMMLab model's ``backbone``, ``neck`` and heads' ``forward`` are plain tensor
functions; the model's own ``forward`` (data samples, modes) and the data preprocessor are not compiled.
A bare module (e.g. a ``MixerViT``) is compiled whole.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

PARTS = ("backbone", "neck", "head", "decode_head", "auxiliary_head")


class FrozenCompiled:
    """A part's ``forward`` compiled by inductor with frozen weights (and with ``autotune`` its GEMM templates).

    Calling it runs the compiled function under ``torch.no_grad()`` and inductor's ``freezing`` (and
    ``max_autotune``) setting, scoped to the call, so that a compilation triggered by a new input shape
    freezes too.
    """

    def __init__(self, forward: Callable[..., Any], autotune: bool = False) -> None:
        self.settings = {"freezing": True, "max_autotune": autotune}
        self.compiled = torch.compile(forward, dynamic=False)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from torch._inductor import config

        with config.patch(self.settings), torch.no_grad():
            return self.compiled(*args, **kwargs)


def compile_for_inference(model: nn.Module, autotune: bool = False) -> nn.Module:
    """Compile ``model``'s parts (:data:`PARTS`, or the module itself if it has none) in place; returns it.

    Args:
        model: a converted model (``convert_to_deploy``) in eval mode.
        autotune: also try inductor's GEMM templates (``max_autotune``: matrix products with the bias and
            activation fused into their epilogues, each timed against the library's), compiling much longer.

    Raises:
        ValueError: the model is in training mode (compiled inference freezes the weights), or a part is
            compiled already.
    """
    if model.training:
        raise ValueError("compile_for_inference: the model is in training mode; call .eval() (and convert it) first")
    parts = [getattr(model, name) for name in PARTS if isinstance(getattr(model, name, None), nn.Module)]
    for part in parts or [model]:
        if is_compiled(part):
            raise ValueError(f"compile_for_inference: {type(part).__name__} is compiled already")
        part.forward = FrozenCompiled(part.forward, autotune)
    return model


def is_compiled(module: nn.Module) -> bool:
    """Whether ``module``'s ``forward`` was replaced by :func:`compile_for_inference`."""
    return isinstance(module.__dict__.get("forward"), FrozenCompiled)
