"""The zoo's classification models by name in mmpretrain: ``mmpretrain.get_model(name)``, ``list_models(pattern)``.

Importing :mod:`backbones` registers ``configs/classification/metafile.yml`` of this checkout (part of
``model-index.yml``) with mmpretrain's ``ModelHub`` through its entry point for further model indexes,
``ModelHub.register_model_index(path, config_prefix)``. Each entry carries its config, parameters, FLOPs,
paper (its collection) and, for the ImageNet presets, the official checkpoint format it converts from
(``Converted From``).

No weights can be downloaded: ``get_model(name)`` builds with random initialisation, and
``get_model(name, pretrained='checkpoints/x.pth')`` loads a local checkpoint (e.g. one written by
``tools/convert_checkpoint.py`` or by training).

Only the classification metafile is registered: mmpretrain's ``get_model`` builds in mmpretrain's registry
and expects a classifier, so the segmentation models (mmseg's ``EncoderDecoder``; use
``mmseg.apis.init_model``) and the point-cloud models (mmengine models) stay listed in ``model-index.yml`` only.
"""
from __future__ import annotations

from pathlib import Path

#: the checkout holding configs/ and model-index.yml (the package's parent folder).
ROOT = Path(__file__).resolve().parents[1]
#: model indexes registered with mmpretrain's ModelHub, relative to ROOT.
METAFILES = ("configs/classification/metafile.yml",)

_registered: list[str] = []


def register_model_index(root: Path = ROOT) -> list[str]:
    """Register the zoo's classification models with mmpretrain's ``ModelHub`` (once); returns their names.

    Config paths in the metafiles are relative to ``root``. A package installed without the checkout's
    ``configs/`` folder registers nothing (there are no configs to build from).

    Raises:
        ValueError: a metafile is malformed (its check errors are named) or a name is taken already.
    """
    if _registered:
        return list(_registered)
    from mmpretrain.apis import ModelHub
    from modelindex.load_model_index import load

    for rel in METAFILES:
        path = root / rel
        if not path.is_file():
            continue
        index = load(str(path))
        errors = list(index.check_errors) + [e for m in index.models for e in m.check_errors]
        if errors:
            raise ValueError(f"{path}: {errors[:5]}")
        ModelHub.register_model_index(path, config_prefix=root)
        _registered.extend(m.name.lower() for m in index.models)
    return list(_registered)
