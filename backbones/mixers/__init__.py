"""Token mixers, one file each, one contract: (B, N, C) -> (B, N, C)."""
from .base import TokenMixer
from .external_attention import EATokenLayer, ExternalAttention, ExternalAttention2d
from .feedforward import FeedForwardMixer
from .identity import IdentityMixer
from .offset_attention import OffsetAttention
from .re_attention import ReAttention
from .self_attention import SelfAttention

__all__ = ["TokenMixer", "SelfAttention", "ReAttention", "FeedForwardMixer", "ExternalAttention", "ExternalAttention2d",
           "EATokenLayer", "OffsetAttention", "IdentityMixer"]
