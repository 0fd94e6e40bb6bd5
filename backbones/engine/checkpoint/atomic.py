"""The ``atomic_local`` file backend: mmengine's local backend whose writes are atomic
(:func:`backbones.utils.files.write_atomic`), registered under a new name; nothing is patched.
:class:`~backbones.engine.runner.checkpoint_hook.AtomicCheckpointHook` selects it with
``backend_args=dict(backend='atomic_local')``.
"""
from __future__ import annotations

from pathlib import Path

from mmengine.fileio import register_backend
from mmengine.fileio.backends.local_backend import LocalBackend

from backbones.utils.files import write_atomic, write_text_atomic


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose ``put`` / ``put_text`` write atomically (:func:`write_atomic`).

    Registered as ``atomic_local``; selected per use with ``backend_args=dict(backend='atomic_local')``
    (the zoo's checkpoint hook does so), so mmengine's own ``local`` backend is left as it is.
    """

    def put(self, obj: bytes, filepath: str | Path) -> None:
        """Write ``obj`` to ``filepath`` atomically."""
        write_atomic(obj, filepath)

    def put_text(self, obj: str, filepath: str | Path, encoding: str = "utf-8") -> None:
        """Write the text ``obj`` to ``filepath`` atomically."""
        write_text_atomic(obj, filepath, encoding)


register_backend("atomic_local", AtomicLocalBackend, force=True)
