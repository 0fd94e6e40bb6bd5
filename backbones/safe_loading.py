"""Opt in to safe loading of mmengine checkpoints under torch >= 2.6 (``weights_only=True`` by default).

Importing this module makes mmengine's local checkpoint loader (``load_from``, ``resume``,
``init_cfg=dict(type='Pretrained')``, ``load_checkpoint``) use
:func:`backbones.checkpoint.safe_load.safe_load`: torch's weights-only unpickler with exactly the types
mmengine checkpoints hold allowed for each load, so resume works and no checkpoint runs code. It is a
separate module on purpose: ``import backbones`` changes no loader. The shipped configs name it in
``custom_imports`` (so any runner that reads them opts in, mmpretrain's or mmseg's ``tools/train.py``
too) and the zoo's tools import it.
"""
from __future__ import annotations

from .checkpoint.safe_load import use_safe_loader

use_safe_loader()
