"""Token-mixer vision backbone zoo.

``import backbones`` (or ``custom_imports=dict(imports=['backbones'])`` in a config) registers everything every
shipped config needs in mmengine's root registries, which mmpretrain, mmsegmentation, mmdetection and plain mmengine
configs search: the models (:mod:`.models`), the engine's hooks, wrappers and file backend (:mod:`.engine`), the
deploy hook (:mod:`.deploy`), each task's datasets, heads and metrics (:mod:`.classification`, :mod:`.segmentation`,
:mod:`.pointcloud`) and the detection neck (:mod:`.detection`); it also registers the classification model index
with mmpretrain's ``ModelHub`` (``mmpretrain.get_model(name)``, ``list_models``), and registers the safe loader for
every checkpoint scheme of mmengine's ``CheckpointLoader`` (its public ``register_scheme``), so that every tool
loading through mmengine - OpenMMLab's own ``tools/test.py``, ``load_from``, ``--resume``, the inferencers - reads
checkpoints weights-only and never runs code from them. It patches nothing: torch's allow-list and mmengine's
writers stay as they were.
"""
from backbones import (  # noqa: F401  (registers every task)
    classification,
    detection,
    engine,
    generation,
    pointcloud,
    segmentation,
)
from backbones.classification.model_index import register_model_index
from backbones.deploy import convert_to_deploy
from backbones.deploy.hook import DeployHook
from backbones.models import (
    MIXERS,
    PRESETS,
    ExternalAttention,
    FeedForwardMixer,
    IdentityMixer,
    MixerViT,
    OffsetAttention,
    ReAttention,
    SelfAttention,
    build_mixer,
)

register_model_index()

__all__ = ["MIXERS", "PRESETS", "DeployHook", "ExternalAttention", "FeedForwardMixer", "IdentityMixer", "MixerViT",
           "OffsetAttention", "ReAttention", "SelfAttention", "build_mixer", "convert_to_deploy"]
__version__ = "0.1.0"
