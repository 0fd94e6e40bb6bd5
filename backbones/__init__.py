"""Token-mixer vision backbone zoo.

Importing the package registers every mixer, stem, backbone and head in mmengine's root registries,
so mmpretrain, mmsegmentation and plain mmengine configs find them by name
(``custom_imports=dict(imports=['backbones'])``).
"""
from . import compat, engine  # noqa: F401  (torch.load allow-list, atomic writes, hooks)
from .deploy import convert_to_deploy
from .mixers import EATokenLayer, ExternalAttention, ExternalAttention2d, FeedForwardMixer, ReAttention, SelfAttention
from .presets import PRESETS
from .registry import MIXERS, build_mixer
from .vit import MixerViT

__all__ = ["convert_to_deploy", "MIXERS", "PRESETS", "MixerViT", "build_mixer", "SelfAttention", "ReAttention",
           "FeedForwardMixer", "ExternalAttention", "ExternalAttention2d", "EATokenLayer"]
__version__ = "0.1.0"
