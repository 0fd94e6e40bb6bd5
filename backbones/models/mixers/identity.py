"""The identity token mixer: a no-token-mixing control.

MetaFormer's IdentityFormer (Yu et al. 2022, "MetaFormer Baselines for Vision", arXiv 2210.13452) replaces the
token mixer of the MetaFormer block by the identity mapping to measure what the rest of the architecture (stem,
norms, channel MLPs, residuals) achieves alone. Here the same idea serves as a control for the claims study
(``lab.study``): in a block ``x + mixer(norm(x))`` with this mixer, each token only sees itself until the
read-out, so the backbone must be read out by averaging the patch tokens (``MixerViT(out_type='avg_featmap',
with_cls_token=False)``): a class token that never mixes never sees the image.

It is not a paper's mixer: it has no official counterpart and does not mix tokens (``mixes_tokens = False``).
"""
from __future__ import annotations

import torch

from backbones.models.mixers.base import TokenMixer
from backbones.models.mixers.registry import register_mixer


@register_mixer
class IdentityMixer(TokenMixer):
    """The identity, (B, N, C) -> (B, N, C): token i of the output is token i of the input.

    Args:
        dim: channels C (unused: the mixer has no parameters).
    """

    mixes_tokens = False

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> (B, N, C), the input itself."""
        return x
