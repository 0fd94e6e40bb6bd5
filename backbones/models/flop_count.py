"""FLOP counting with the formulas ``torch.utils.flop_counter`` lacks.

torch's counter knows the CUDA attention kernels but not the CPU flash kernel that
``scaled_dot_product_attention`` dispatches to, so it counts 0 FLOPs for every fused attention on the
CPU. :func:`forward_flops` passes the missing formulas to its own ``FlopCounterMode`` (nothing is
registered globally). Counted as 2 FLOPs per multiply-add.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

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


def _cpu_sdpa_flops(q_shape, k_shape, v_shape, *args, **kwargs) -> int:  # noqa: ANN001, ANN002, ANN003
    return attention_flops(q_shape, k_shape, v_shape)


def _cpu_sdpa_backward_flops(grad_shape, q_shape, k_shape, v_shape, *args, **kwargs) -> int:  # noqa: ANN001, ANN002, ANN003
    return attention_flops(q_shape, k_shape, v_shape, backward=True)


#: Formulas for ops torch's counter lacks, passed as ``FlopCounterMode(custom_mapping=...)``.
CUSTOM_FORMULAS = {op: f for op, f in ((_FORWARD, _cpu_sdpa_flops), (_BACKWARD, _cpu_sdpa_backward_flops))
                   if op is not None}


def flop_counter() -> FlopCounterMode:
    """A silent ``FlopCounterMode`` that also counts the CPU attention kernels."""
    return FlopCounterMode(display=False, custom_mapping=CUSTOM_FORMULAS)


def forward_flops(forward: Callable[[torch.Tensor], object], x: torch.Tensor) -> int:
    """FLOPs (2 per multiply-add) of one ``forward(x)`` without autograd."""
    with torch.no_grad(), flop_counter() as counter:
        forward(x)
    return counter.get_total_flops()
