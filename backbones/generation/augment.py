"""Differentiable augmentation for data-efficient GAN training, optionally adaptive, and LeCam regularisation.

* :class:`DiffAugment` (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training", arXiv
  2006.10738): every image the discriminator sees, real and fake, in the discriminator's and the generator's
  steps, passes the same random transformations ``T``; each is differentiable, so the generator's gradient flows
  through ``T``. Transformations (the paper's, images in [-1, 1]): ``color`` (brightness + U(-0.5, 0.5),
  saturation x U(0, 2) around the channel mean, contrast x U(0.5, 1.5) around the image mean, per sample),
  ``translation`` (an integer shift of up to ``1/8`` of the side, zero padding) and ``cutout`` (one square of half
  the side set to 0). The policy is a comma-separated string, e.g. ``'translation,cutout'``.
* Adaptive probability (ADA, Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data",
  arXiv 2006.06676): each transformation is applied to a sample with probability ``p``; with ``ada_target`` set,
  ``p`` is steered every ``ada_interval`` discriminator steps by the overfitting signal ``r_t = E[sign(D(real))]``
  (up when ``r_t`` is above the target, down below, by ``ada_step``, clamped to [0, 1]). ``p`` and the
  accumulated signal are buffers: saved in checkpoints and resumed.
* :func:`lecam_regulariser` (Tseng et al. 2021, "Regularizing Generative Adversarial Networks under Limited
  Data", arXiv 2104.03310, eq. 3): ``E relu(D(x) - a_F)^2 + E relu(a_R - D(G(z)))^2`` with ``a_R``, ``a_F`` moving
  averages of the discriminator's mean score on real and fake images.

Randomness comes from torch's global generator (seeded per training step by the zoo's ``StepSeedHook``: a run and
its resumption draw the same transformations).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

#: the transformations a policy may name
TRANSFORMS = ("color", "translation", "cutout")


def _apply(x: torch.Tensor, out: torch.Tensor, p: float) -> torch.Tensor:
    """Per sample, ``out`` with probability ``p``, else ``x`` (no draw when ``p`` is 1)."""
    if p >= 1:
        return out
    keep = (torch.rand(x.shape[0], 1, 1, 1, device=x.device) >= p).to(x.dtype)
    return keep * x + (1 - keep) * out


def color(x: torch.Tensor) -> torch.Tensor:
    """Brightness, saturation and contrast, each with its own random factor per sample (images in [-1, 1])."""
    b = x.shape[0]
    x = x + (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each sample by its own integer offset in [-ratio * side, ratio * side] on each axis, zero padding."""
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (b, 1, 1), device=x.device)
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + dy).clamp(-1, h)  # source row of each output row
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + dx).clamp(-1, w)
    padded = F.pad(x, (1, 1, 1, 1))  # index -1 and h (w) land on the zero border
    index = ((rows + 1) * (w + 2) + (cols + 1)).flatten(1)  # (B, H*W) into the padded map
    flat = padded.flatten(2)  # (B, C, (H+2)(W+2))
    return flat.gather(2, index[:, None, :].expand(-1, x.shape[1], -1)).view_as(x)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Set one square of ``ratio * side`` per sample (its centre anywhere in the image, clipped) to 0."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), device=x.device)
    ox = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1) - oy + ch // 2
    xs = torch.arange(w, device=x.device).view(1, 1, w) - ox + cw // 2
    inside = (ys >= 0) & (ys < ch) & (xs >= 0) & (xs < cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_FUNCTIONS = dict(color=color, translation=translation, cutout=cutout)


def parse_policy(policy: str) -> tuple[str, ...]:
    """``'translation,cutout'`` -> ``('translation', 'cutout')``; '' -> ().

    Raises:
        ValueError: a name not in :data:`TRANSFORMS`.
    """
    names = tuple(n.strip() for n in policy.split(",") if n.strip())
    bad = [n for n in names if n not in TRANSFORMS]
    if bad:
        raise ValueError(f"DiffAugment: unknown transformation(s) {bad} in policy {policy!r}; "
                         f"expected a comma-separated subset of {TRANSFORMS}")
    return names


class DiffAugment(nn.Module):
    """The discriminator's input transformation ``T``: (B, C, H, W) -> (B, C, H, W), differentiable.

    Args:
        policy: comma-separated transformations (:data:`TRANSFORMS`), applied in the given order.
        p: initial probability that a transformation is applied to a sample (1: always, DiffAugment).
        ada_target: target of the overfitting signal ``E[sign(D(real))]`` (ADA: 0.6); None: ``p`` stays fixed.
        ada_interval: discriminator steps between two adjustments of ``p``.
        ada_step: change of ``p`` per adjustment.
    """

    def __init__(self, policy: str = "translation,cutout", p: float = 1.0, ada_target: float | None = None,
                 ada_interval: int = 4, ada_step: float = 0.01) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"DiffAugment: p must be in [0, 1], got {p}")
        if ada_target is not None and (ada_interval < 1 or ada_step <= 0):
            raise ValueError(f"DiffAugment: ada_interval must be >= 1 and ada_step > 0, got {ada_interval}, "
                             f"{ada_step}")
        self.policy = parse_policy(policy)
        self.ada_target, self.ada_interval, self.ada_step = ada_target, ada_interval, ada_step
        self.register_buffer("p", torch.tensor(float(p)))
        self.register_buffer("signal", torch.zeros(3))  # since the last adjustment: sum of sign(D(real)), scores, calls

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Each transformation of the policy, per sample with probability :attr:`p`."""
        p = float(self.p)
        if p <= 0:
            return x
        for name in self.policy:
            x = _apply(x, _FUNCTIONS[name](x), p)
        return x

    @torch.no_grad()
    def observe(self, real_scores: torch.Tensor) -> None:
        """Accumulate ``sign(D(real))``; every ``ada_interval``-th call, move ``p`` toward the target's side and
        start a new interval (adaptive only; a no-op otherwise)."""
        if self.ada_target is None:
            return
        self.signal += torch.stack([real_scores.detach().sign().sum().to(self.signal),
                                    self.signal.new_tensor(float(real_scores.numel())), self.signal.new_tensor(1.0)])
        if int(self.signal[2]) >= self.ada_interval:
            rt = self.signal[0] / self.signal[1]
            self.p.copy_((self.p + self.ada_step * torch.sign(rt - self.ada_target)).clamp(0, 1))
            self.signal.zero_()

    def extra_repr(self) -> str:
        """The policy and the probability."""
        return f"policy={','.join(self.policy)!r}, p={float(self.p):.3f}, ada_target={self.ada_target}"


def lecam_regulariser(real_scores: torch.Tensor, fake_scores: torch.Tensor, ema_real: torch.Tensor,
                      ema_fake: torch.Tensor) -> torch.Tensor:
    """LeCam's term (Tseng et al. 2021, eq. 3): ``mean(relu(D(x) - a_F)^2) + mean(relu(a_R - D(G(z)))^2)``.

    Args:
        real_scores, fake_scores: the discriminator's scores (B,) on real and fake images.
        ema_real, ema_fake: the moving averages ``a_R`` and ``a_F`` of its mean real and fake scores (scalars).
    """
    return (F.relu(real_scores - ema_fake).pow(2).mean() + F.relu(ema_real - fake_scores).pow(2).mean())
