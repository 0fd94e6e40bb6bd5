"""The class-per-folder layout every image task reads (``<split>/<class>/<image>``): its class names."""
from __future__ import annotations

import os
import os.path as osp


def class_folders(folder: str) -> list[str]:
    """The sorted sub-folder names of ``folder`` (the class names of a class-per-folder layout).

    Raises:
        FileNotFoundError: ``folder`` does not exist (named, with where it comes from).
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f"image folder {folder} does not exist (check data_root / data_prefix)")
    return sorted(d for d in os.listdir(folder) if osp.isdir(osp.join(folder, d)))
