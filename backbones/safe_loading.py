"""Opt in to safe checkpoint loading in mmengine: importing this module makes every scheme of mmengine's
``CheckpointLoader`` - local paths, URLs, the model-zoo names, object stores, any other registered scheme - read
checkpoints with torch's weights-only unpickler and exactly the types mmengine checkpoints hold
(:mod:`backbones.engine.checkpoint.loaders`). Every path that loads through mmengine is covered: ``load_from``,
``--resume``, ``init_cfg=dict(type='Pretrained')``, ``load_checkpoint``, ``mmpretrain.get_model(pretrained=...)``,
``mmseg.apis.init_model``. A checkpoint is data: with this module imported, none runs code.

It is a separate module on purpose: ``import backbones`` changes no loader. The shipped configs name it in
``custom_imports`` (so any runner that reads them opts in, mmpretrain's or mmseg's ``tools/train.py`` too) and
the zoo's tools import it.
"""
from __future__ import annotations

from backbones.engine.checkpoint.loaders import use_safe_loader

use_safe_loader()
