"""Checkpoint I/O: safe (weights-only) loading through every mmengine scheme, atomic writes, the resume choice.

Importing it registers the ``atomic_local`` file backend under a new name; it changes no loader. Safe
loading is switched on for mmengine by importing :mod:`backbones.safe_loading`.
"""
from backbones.engine.checkpoint.atomic import AtomicLocalBackend, write_atomic, write_text_atomic
from backbones.engine.checkpoint.resume import checkpoint_problem, newest_complete_checkpoint, resume_checkpoint
from backbones.engine.checkpoint.safe_load import CheckpointReadError, UnsafeCheckpointError, safe_load

__all__ = ["AtomicLocalBackend", "CheckpointReadError", "UnsafeCheckpointError", "checkpoint_problem",
           "newest_complete_checkpoint", "resume_checkpoint", "safe_load", "write_atomic", "write_text_atomic"]
