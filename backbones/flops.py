"""FLOP formulas that ``torch.utils.flop_counter`` lacks, registered on import of the package.

torch's counter knows the CUDA attention kernels but not the CPU flash kernel that
``scaled_dot_product_attention`` dispatches to on this machine, so it counted 0 FLOPs for every
fused attention (vit-tiny: 2.15 instead of 2.51 GFLOPs). Counted as 2 FLOPs per multiply-add.
The fused linear of :mod:`backbones.layers.fused` registers its own formula there.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode, flop_registry, register_flop_formula

_FORWARD = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
_BACKWARD = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu_backward", None)


def attention_flops(q_shape: torch.Size, k_shape: torch.Size, v_shape: torch.Size, backward: bool = False) -> int:
    """FLOPs of ``softmax(q k^T) v`` for q (B, H, N, d), k (B, H, M, d), v (B, H, M, dv).

    Forward: the two matmuls. Backward: the recomputed scores and four gradient matmuls.
    """
    *lead, n, d = q_shape
    m, dv = k_shape[-2], v_shape[-1]
    batch = 1
    for s in lead:
        batch *= s
    per_pair = (3 * d + 2 * dv) if backward else (d + dv)
    return 2 * batch * n * m * per_pair


def forward_flops(forward: Callable[[torch.Tensor], object], x: torch.Tensor) -> int:
    """FLOPs (2 per multiply-add) of one ``forward(x)`` without autograd.

    The count is of a second call: the first builds the inference path's cached folded weights
    (:mod:`backbones.layers.fused`), a one-time cost that is not part of a forward (0.47 GFLOPs for
    eamlp-7, as much as a fifth of one image's).
    """
    with torch.no_grad():
        forward(x)
        with FlopCounterMode(display=False) as counter:
            forward(x)
    return counter.get_total_flops()


if _FORWARD is not None and _FORWARD not in flop_registry:
    @register_flop_formula(_FORWARD)
    def _cpu_sdpa_flops(q_shape, k_shape, v_shape, *args, **kwargs) -> int:  # noqa: ANN001, ANN002, ANN003
        return attention_flops(q_shape, k_shape, v_shape)

if _BACKWARD is not None and _BACKWARD not in flop_registry:
    @register_flop_formula(_BACKWARD)
    def _cpu_sdpa_backward_flops(grad_shape, q_shape, k_shape, v_shape, *args, **kwargs) -> int:  # noqa: ANN001, ANN002, ANN003
        return attention_flops(q_shape, k_shape, v_shape, backward=True)
