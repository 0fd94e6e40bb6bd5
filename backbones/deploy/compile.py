"""The compiled inference path: ``torch.compile`` of a converted model's compute-heavy parts.

>>> from backbones.deploy import convert_to_deploy
>>> from backbones.deploy.compile import compile_for_inference
>>> model = compile_for_inference(convert_to_deploy(model))   # compiles on the first call

Inductor on the CPU fuses the passes that are not matrix products (GELU, softmax, LayerNorm, bias adds)
into generated C++ loops; ``freezing`` treats the weights as constants (folded, and laid out once for
oneDNN's matrix products), which is exact for a converted model (it refuses ``.train()``). The first call
compiles (tens of seconds to minutes on a laptop CPU, and again for every new input shape); later calls
run the compiled code. The modules are compiled in place (``nn.Module.compile``), so names, parameters
and ``state_dict`` keys stay as they were.

Which parts: an OpenMMLab model's ``backbone``, ``neck`` and heads' ``forward`` are plain tensor
functions; the model's own ``forward`` (data samples, modes) and the data preprocessor are not compiled.
A bare module (e.g. a ``MixerViT``) is compiled whole.
"""
from __future__ import annotations

from torch import nn

PARTS = ("backbone", "neck", "head", "decode_head", "auxiliary_head")
OPTIONS = {"freezing": True}  # inductor options of every compiled part


def compile_for_inference(model: nn.Module, autotune: bool = False) -> nn.Module:
    """Compile ``model``'s parts (:data:`PARTS`, or the module itself if it has none) in place; returns it.

    Args:
        model: a converted model (``convert_to_deploy``) in eval mode.
        autotune: also try inductor's GEMM templates (``max_autotune``: matrix products with the bias and
            activation fused into their epilogues, each timed against oneDNN's), compiling much longer.

    Raises:
        ValueError: the model is in training mode (compiled inference freezes the weights).
    """
    if model.training:
        raise ValueError("compile_for_inference: the model is in training mode; call .eval() (and convert it) first")
    parts = [getattr(model, name) for name in PARTS if isinstance(getattr(model, name, None), nn.Module)]
    for part in parts or [model]:
        part.compile(options={**OPTIONS, "max_autotune": autotune}, dynamic=False)
    return model
