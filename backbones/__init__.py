"""Token-mixer vision backbone zoo.

Importing the package registers every mixer, stem, backbone, hook and wrapper in mmengine's root registries,
so mmpretrain, mmsegmentation and plain mmengine configs find them by name
(``custom_imports=dict(imports=['backbones'])``), and registers the classification model index with
mmpretrain's ``ModelHub`` (``mmpretrain.get_model(name)``, ``list_models``; :mod:`backbones.model_index`).
It changes no loader or writer: safe checkpoint loading is opted into by importing :mod:`backbones.safe_loading`
(the shipped configs and tools do).
"""
from . import checkpoint, optim, runner  # noqa: F401  (registers hooks, wrappers, the atomic file backend)
from .deploy import convert_to_deploy
from .deploy.hook import DeployHook
from .mixers import (
    MIXERS,
    ExternalAttention,
    FeedForwardMixer,
    IdentityMixer,
    OffsetAttention,
    ReAttention,
    SelfAttention,
    build_mixer,
)
from .model_index import register_model_index
from .presets import PRESETS
from .vit import MixerViT

register_model_index()

__all__ = ["MIXERS", "PRESETS", "DeployHook", "ExternalAttention", "FeedForwardMixer", "IdentityMixer", "MixerViT",
           "OffsetAttention", "ReAttention", "SelfAttention", "build_mixer", "convert_to_deploy"]
__version__ = "0.1.0"
