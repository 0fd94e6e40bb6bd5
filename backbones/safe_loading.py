"""Kept for configs and code written for earlier versions (``custom_imports=['backbones', 'backbones.safe_loading']``):
importing it imports :mod:`backbones`, which registers the safe loader for every checkpoint scheme of mmengine's
``CheckpointLoader`` (:func:`backbones.engine.checkpoint.loaders.use_safe_loader`). ``import backbones`` alone does
the same.
"""
from __future__ import annotations

import backbones  # noqa: F401  (registers the safe loaders)
