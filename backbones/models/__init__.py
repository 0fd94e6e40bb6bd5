"""The models: shared layers, token mixers (one file each, one ``(B, N, C) -> (B, N, C)`` contract), stems, the
block, the generic backbone :class:`MixerViT` and the preset table, registered in mmengine's root ``MODELS``."""
from backbones.models.mixers import (
    MIXERS,
    ExternalAttention,
    FeedForwardMixer,
    IdentityMixer,
    OffsetAttention,
    ReAttention,
    SelfAttention,
    build_mixer,
)
from backbones.models.presets import PRESETS
from backbones.models.vit import MixerViT

__all__ = ["MIXERS", "PRESETS", "ExternalAttention", "FeedForwardMixer", "IdentityMixer", "MixerViT",
           "OffsetAttention", "ReAttention", "SelfAttention", "build_mixer"]
