"""Token-mixer vision backbone zoo.

Importing the package registers every mixer, stem, backbone and head in mmengine's root registries,
so mmpretrain, mmsegmentation and plain mmengine configs find them by name
(``custom_imports=dict(imports=['backbones'])``), and registers the classification model index with
mmpretrain's ``ModelHub`` (``mmpretrain.get_model(name)``, ``list_models``; :mod:`backbones.model_zoo`).
It changes no loader or writer: safe checkpoint loading is opted into by importing :mod:`backbones.safe_loading`
(the shipped configs and tools do).
"""
from . import checkpoint, optim, runner  # noqa: F401  (registers hooks, wrappers, the atomic file backend)
from .deploy import convert_to_deploy
from .mixers import EATokenLayer, ExternalAttention, ExternalAttention2d, FeedForwardMixer, ReAttention, SelfAttention
from .model_zoo import register_model_index
from .presets import PRESETS
from .registry import MIXERS, build_mixer
from .vit import MixerViT

register_model_index()

__all__ = ["convert_to_deploy", "MIXERS", "PRESETS", "MixerViT", "build_mixer", "SelfAttention", "ReAttention",
           "FeedForwardMixer", "ExternalAttention", "ExternalAttention2d", "EATokenLayer"]
__version__ = "0.1.0"
