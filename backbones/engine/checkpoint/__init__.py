"""Checkpoint I/O: safe (weights-only) loading through every mmengine scheme, atomic writes, the resume choice.

Importing it registers, through mmengine's public registries, the ``atomic_local`` file backend under a new name and
the safe loader for every checkpoint scheme mmengine ships (``CheckpointLoader.register_scheme``): after
``import backbones`` every tool that loads through mmengine reads checkpoints weights-only, safely.
"""
from backbones.engine.checkpoint.atomic import AtomicLocalBackend
from backbones.engine.checkpoint.loaders import use_safe_loader
from backbones.engine.checkpoint.resume import checkpoint_problem, newest_complete_checkpoint, resume_checkpoint
from backbones.engine.checkpoint.safe_load import CheckpointReadError, UnsafeCheckpointError, safe_load
from backbones.utils.files import write_atomic, write_text_atomic

__all__ = ["AtomicLocalBackend", "CheckpointReadError", "UnsafeCheckpointError", "checkpoint_problem",
           "newest_complete_checkpoint", "resume_checkpoint", "safe_load", "write_atomic", "write_text_atomic"]

use_safe_loader()
