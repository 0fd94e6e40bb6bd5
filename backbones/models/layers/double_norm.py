"""External attention's double normalisation (Guo et al. 2021): softmax over the tokens, then L1 over the memory
units. Shared by the EA mixer, the tokens-to-token stem's token layers and EANet's segmentation head."""
from __future__ import annotations

import torch


class _DoubleNormalize(torch.autograd.Function):
    """``y = s / (eps + sum_S s)`` with ``s = softmax_N(a)``, with a backward written for it.

    Autograd of the two-step form stores ``s`` and the denominator and replays a division, a
    negation, two products, a sum and the softmax backward over the full (.., N, .., S) map. With
    ``t = sum_S(g * y)`` and ``u = sum_N((g - t) * y)`` the gradient is ``y * (g - t - u * denom)``
    (``s = y * denom``): one temporary and four passes over the map.
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, attn: torch.Tensor, token_dim: int, memory_dim: int,
                eps: float) -> torch.Tensor:
        y, denom = _normalize(attn, token_dim, memory_dim, eps)
        ctx.save_for_backward(y, denom)
        ctx.dims = token_dim, memory_dim
        return y

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        y, denom = ctx.saved_tensors
        token_dim, memory_dim = ctx.dims
        q = grad - (grad * y).sum(dim=memory_dim, keepdim=True)
        q.addcmul_((q * y).sum(dim=token_dim, keepdim=True), denom, value=-1)
        return q.mul_(y), None, None, None


def _normalize(attn: torch.Tensor, token_dim: int, memory_dim: int, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward of the double normalisation: (map, L1 denominator), the division in place on the softmax."""
    s = attn.softmax(dim=token_dim)
    denom = s.sum(dim=memory_dim, keepdim=True).add_(eps)
    return s.div_(denom), denom


def double_normalize(attn: torch.Tensor, token_dim: int, memory_dim: int = -1, eps: float = 1e-9) -> torch.Tensor:
    """EA's double normalisation: softmax over the token axis, then L1 over the memory axis.

    ``attn`` (..., N, ..., S): ``token_dim`` indexes N and ``memory_dim`` S; same shape out.
    """
    if torch.is_grad_enabled() and attn.requires_grad:
        return _DoubleNormalize.apply(attn, token_dim, memory_dim, eps)
    return _normalize(attn, token_dim, memory_dim, eps)[0]


def memory_map_t(tokens: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, groups: int = 1,
                 eps: float = 1e-9) -> torch.Tensor:
    """Inference form of EA's map: tokens (B, N, C) against memory keys ``weight`` (G*S, C) (and ``bias``
    (G*S,)), double-normalised, in the transposed layout (G*S, B*N).

    The same values as ``double_normalize(F.linear(tokens, weight, bias).view(B, N, G, S), token_dim=1)``:
    one matrix product for the batch, the softmax over the innermost axis (a sample's N tokens), the L1
    over each group's S units. With the token axis innermost, onnxruntime's Softmax needs no transposes.
    """
    b, n, c = tokens.shape
    flat = tokens.reshape(b * n, c).t()
    z = torch.mm(weight, flat) if bias is None else torch.addmm(bias[:, None], weight, flat)
    z = z.view(-1, b, n).softmax(dim=-1).view(groups, -1, b * n)
    return z.div_(z.sum(dim=1, keepdim=True).add_(eps)).view(-1, b * n)


def read_map_t(map_t: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, batch: int) -> torch.Tensor:
    """Values read through a transposed map (K, B*M) (:func:`memory_map_t`, or columns of it): ``weight``
    (C, K) and ``bias`` (C,) -> (B, M, C)."""
    return torch.addmm(bias, map_t.t(), weight.t()).view(batch, -1, weight.shape[0])
