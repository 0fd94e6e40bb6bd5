"""The token-mixer contract shared by every mixer of the zoo.

A token mixer maps tokens (B, N, C) to (B, N, C). It is built with the channel width ``dim`` plus
the block settings it declares in :attr:`TokenMixer.settings`; the backbone passes exactly those
(:func:`backbones.models.mixers.build_mixer`) and refuses a setting a mixer does not take instead of
dropping it. The other class attributes are the optional hooks a backbone may use:

* ``channel_prenorm`` - the block puts its LayerNorm over channels in front of the mixer (False for
  mixers that normalise by themselves, e.g. FF-only's LayerNorm over tokens).
* ``wants_grid`` - ``forward(x, grid)`` receives the current patch grid (h, w).
* ``mixes_tokens`` - a token's output depends on the other tokens (False only for a control such as
  :class:`backbones.models.mixers.IdentityMixer`); the deploy form of the last block computes only the
  class token's row when no later branch mixes tokens.
* ``attention_maps(x)`` - a mixer with attention maps computes them from its input, without keeping
  anything: ``(the map that weights the values (B, h, N, M), the map before a transform of it)``
  (Re-attention's softmax map; the same tensor where there is no transform). Analysis reads them through
  forward hooks (:mod:`backbones.analysis.attention`); the model holds no analysis state.

* ``deploy_branch(norm, scale)`` - the mixer's inference form in the block's residual branch
  ``x + mixer(norm(scale x)) / scale`` (:mod:`backbones.deploy`); a mixer with a faster form folds the norm
  and the scale into its weights, in its own file. The default runs the trained modules in eval mode.

Re-attention's map transform is :meth:`backbones.models.mixers.SelfAttention.transform_attention`, a hook of
self-attention alone.
"""
from __future__ import annotations

from typing import ClassVar

import torch.nn as nn

from backbones.models.deploy.base import DeployModule, ModuleBranch

#: Block settings a backbone may offer, with the value that means "not used" (see ``build_mixer``).
#: ``num_heads``, ``num_tokens`` and ``grid_size`` are geometry: offered to every mixer, taken by those
#: that declare them. The others are choices: a non-neutral value for a mixer that does not declare
#: the setting is an error.
GEOMETRY = ("num_heads", "num_tokens", "grid_size")
NEUTRAL = {"qkv_bias": True, "attn_drop": 0.0, "proj_drop": 0.0, "token_resize": None, "window_size": None}


class TokenMixer(nn.Module):
    """Base class of token mixers, (B, N, C) -> (B, N, C).

    Subclasses declare:

    Attributes:
        settings: the block settings the constructor takes besides ``dim`` (names from
            :data:`GEOMETRY` and :data:`NEUTRAL`).
        channel_prenorm: the block applies a LayerNorm over channels before the mixer.
        wants_grid: ``forward`` takes the patch grid as a second argument.
        mixes_tokens: a token's output depends on other tokens (False for a no-mixing control).
    """

    settings: ClassVar[tuple[str, ...]] = ()
    channel_prenorm: ClassVar[bool] = True
    wants_grid: ClassVar[bool] = False
    mixes_tokens: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        unknown = set(cls.settings) - set(GEOMETRY) - set(NEUTRAL)
        if unknown:
            raise TypeError(f"{cls.__name__}.settings names unknown block settings {sorted(unknown)}; "
                            f"valid: {sorted(GEOMETRY + tuple(NEUTRAL))}")

    def deploy_branch(self, norm: nn.Module, scale: float = 1.0) -> DeployModule:
        """The inference form of ``x + self(norm(scale x)) / scale``: the trained modules in eval mode unless the
        mixer folds them (self-attention, Re-attention, FF-only and External attention do)."""
        return ModuleBranch(norm, self, scale)
