"""Token mixers, one file each, one contract: (B, N, C) -> (B, N, C) (:class:`TokenMixer`), built by name through
the registry (:func:`build_mixer`); each mixer's inference form lives in its file (``deploy_branch``)."""
from backbones.models.mixers.base import TokenMixer
from backbones.models.mixers.external_attention import ExternalAttention
from backbones.models.mixers.feedforward import FeedForwardMixer
from backbones.models.mixers.identity import IdentityMixer
from backbones.models.mixers.offset_attention import OffsetAttention
from backbones.models.mixers.re_attention import ReAttention
from backbones.models.mixers.registry import MIXERS, build_mixer, mixer_class, register_mixer
from backbones.models.mixers.self_attention import SelfAttention

__all__ = ["MIXERS", "ExternalAttention", "FeedForwardMixer", "IdentityMixer", "OffsetAttention", "ReAttention",
           "SelfAttention", "TokenMixer", "build_mixer", "mixer_class", "register_mixer"]
