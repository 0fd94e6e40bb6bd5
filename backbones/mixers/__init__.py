"""Token mixers, one file each, one contract: (B, N, C) -> (B, N, C) (:class:`TokenMixer`), built by name through
the registry (:func:`build_mixer`); each mixer's inference form lives in its file (``deploy_branch``)."""
from .base import TokenMixer
from .external_attention import ExternalAttention
from .feedforward import FeedForwardMixer
from .identity import IdentityMixer
from .offset_attention import OffsetAttention
from .re_attention import ReAttention
from .registry import MIXERS, build_mixer, mixer_class, register_mixer
from .self_attention import SelfAttention

__all__ = ["MIXERS", "ExternalAttention", "FeedForwardMixer", "IdentityMixer", "OffsetAttention", "ReAttention",
           "SelfAttention", "TokenMixer", "build_mixer", "mixer_class", "register_mixer"]
