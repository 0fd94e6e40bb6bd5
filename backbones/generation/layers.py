"""Building blocks of the GAN networks: spectral normalisation, conditional BatchNorm and the attention block whose
token mixer is any mixer of the zoo.

* Spectral normalisation (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks",
  arXiv 1802.05957): every weight is divided by its largest singular value, estimated by one power iteration per
  training forward. :func:`sn` wraps one layer, :func:`spectral_norm_all` every Linear / Conv layer of a module
  (the mixers' own layers included; the parametrised ``weight`` is what their functional forwards read).
* Conditional BatchNorm (de Vries et al. 2017; used by SAGAN, Zhang et al. 2019, arXiv 1805.08318): BatchNorm
  without affine parameters, then a per-class gain and bias from embeddings.
* :class:`MixerAttention2d`: SAGAN's self-attention block with the token mixer as a plug-in. The feature map
  (B, C, H, W) becomes tokens (B, H*W, C), passes a pre-norm and the mixer (any
  :func:`~backbones.models.mixers.build_mixer` spec), returns to a map and joins the input through SAGAN's learned
  gate ``y = x + gamma * mixer(norm(x))``, ``gamma`` initialised at 0 (the block is the identity at init).
* The deploy forms (:func:`backbones.deploy.convert_to_deploy`): :func:`bake_spectral_norm` divides each weight by
  its stored spectral norm once (the eval-mode weight), and :class:`DeployAttention2d` runs the mixer's own folded
  branch (its ``deploy_branch``: LayerNorm folded, channel Linears as frozen ``nn.Linear`` modules).
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from backbones.models.deploy.base import DeployModule
from backbones.models.mixers import build_mixer

#: layer types whose ``weight`` :func:`spectral_norm_all` normalises
SN_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d)


def sn(module: nn.Module, enabled: bool = True) -> nn.Module:
    """``module`` with its ``weight`` spectrally normalised (one power iteration per training forward), or as it
    is when ``enabled`` is False."""
    return spectral_norm(module) if enabled else module


def spectral_norm_all(module: nn.Module) -> nn.Module:
    """Spectrally normalise the ``weight`` of every Linear / Conv1d / Conv2d inside ``module`` (in place).

    Returns:
        ``module``.
    """
    for child in list(module.modules()):
        if isinstance(child, SN_LAYERS) and not hasattr(child, "parametrizations"):
            spectral_norm(child)
    return module


def bake_spectral_norm(module: nn.Module) -> nn.Module:
    """Replace every parametrised tensor inside ``module`` by its eval-mode value (in place; ``module`` is put in
    eval mode first, so no power iteration runs): each spectrally normalised layer becomes a plain layer of its own
    class holding ``W / sigma`` (the stored singular-vector estimates), what its eval-mode forward computes.

    Unlike ``torch.nn.utils.parametrize.remove_parametrizations``, the class torch generated for a parametrised
    layer is left as it is: deep copies of a model share it, so a copy can be baked and the original still works.

    Returns:
        ``module``, without parametrizations; the baked tensors need no gradient.
    """
    module.eval()
    with torch.no_grad():
        for child in list(module.modules()):
            if not parametrize.is_parametrized(child):
                continue
            values = {name: getattr(child, name).detach().clone() for name in child.parametrizations.keys()}
            child.__class__ = type(child).__bases__[0]  # this layer only: the plain class torch derived it from
            del child._modules["parametrizations"]
            for name, value in values.items():
                child.register_parameter(name, nn.Parameter(value, requires_grad=False))
    return module


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm2d without affine parameters followed by a class-dependent gain and bias.

    ``y = (1 + gain[label]) * BN(x) + bias[label]``; gain and bias start at 0, so at init the layer is plain
    BatchNorm for every class.

    Args:
        channels: C.
        num_classes: number of classes K.
    """

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)
        nn.init.zeros_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) and (B,) labels -> (B, C, H, W)."""
        gain = 1 + self.gain(labels)[:, :, None, None]
        return gain * self.bn(x) + self.bias(labels)[:, :, None, None]


class MixerAttention2d(nn.Module):
    """SAGAN's attention block with a zoo token mixer: ``y = x + gamma * map(mixer(norm(tokens(x))))``.

    The map (B, C, H, W) is flattened to tokens (B, H*W, C); the mixer sees them after a LayerNorm over channels
    (none when the mixer normalises by itself, ``channel_prenorm = False``) and receives the grid (H, W) if it
    asks for it (``wants_grid``). ``gamma`` is a learned scalar initialised at 0, as in SAGAN (Zhang et al. 2019,
    "Self-Attention Generative Adversarial Networks", arXiv 1805.08318, Sec. 3), so the block starts as the identity
    and the network first learns local features.

    Args:
        channels: C.
        grid_size: (H, W) of the feature map the block runs on (mixers built for a fixed token count need it).
        mixer: a mixer spec (registered name, ``dict(type=...)``, class or partial).
        num_heads: offered to mixers that take heads.
        spectral: spectrally normalise the mixer's Linear / Conv layers (both SAGAN networks do).
    """

    def __init__(self, channels: int, grid_size: tuple[int, int], mixer: Any = "SelfAttention", num_heads: int = 4,
                 spectral: bool = True) -> None:
        super().__init__()
        self.grid_size = tuple(grid_size)
        self.mixer = build_mixer(mixer, channels, num_heads=num_heads, num_tokens=grid_size[0] * grid_size[1],
                                 grid_size=self.grid_size)
        self.norm = nn.LayerNorm(channels) if self.mixer.channel_prenorm else nn.Identity()
        if spectral:
            spectral_norm_all(self.mixer)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # (B, H*W, C)
        args = ((h, w),) if self.mixer.wants_grid else ()
        mixed = self.mixer(self.norm(tokens), *args)  # (B, H*W, C)
        return x + self.gamma * mixed.transpose(1, 2).reshape(b, c, h, w)

    def to_deploy(self) -> DeployAttention2d:
        """The inference form: spectral norms baked, the mixer's own branch form (norm folded where it can)."""
        bake_spectral_norm(self)
        return DeployAttention2d(self.mixer.deploy_branch(self.norm), self.gamma, self.grid_size)


class DeployAttention2d(DeployModule):
    """:class:`MixerAttention2d` at inference, (B, C, H, W) -> (B, C, H, W): ``x + gamma * (branch(t) - t)`` with
    ``t`` the tokens (B, H*W, C) and ``branch(t) = t + mixer(norm(t))`` the mixer's deploy branch.

    Args:
        branch: the mixer's residual branch form (``deploy_branch`` of the baked mixer).
        gamma: the block's trained gate (a scalar).
        grid_size: (H, W) the block was built for.
    """

    def __init__(self, branch: DeployModule, gamma: torch.Tensor, grid_size: tuple[int, int]) -> None:
        super().__init__()
        self.branch, self.grid_size = branch, tuple(grid_size)
        self._buffers_from(gamma=gamma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # (B, H*W, C)
        mixed = self.branch(tokens, (h, w)) - tokens
        return x + self.gamma * mixed.transpose(1, 2).reshape(b, c, h, w)
