"""The zoo's classification models by name in mmpretrain: ``mmpretrain.get_model(name)``, ``list_models(pattern)``.

Importing :mod:`backbones` registers the classification metafile the package carries
(``backbones/.mim/configs/classification/metafile.yml``, part of ``.mim/model-index.yml``; in a checkout ``.mim``
links to the repository's folders, in a wheel it holds copies) with mmpretrain's ``ModelHub`` through its entry point
for further model indexes, ``ModelHub.register_model_index(path, config_prefix)``. Each entry carries its
config, parameters, FLOPs, paper (its collection) and, for the ImageNet presets, the official checkpoint format it
converts from (``Converted From``).

No weights can be downloaded: ``get_model(name)`` builds with random initialisation, and
``get_model(name, pretrained='checkpoints/x.pth')`` loads a local checkpoint (e.g. one written by
``tools/convert_checkpoint.py`` or by training).

Only the classification metafile is registered: mmpretrain's ``get_model`` builds in mmpretrain's registry
and expects a classifier, so the segmentation models (mmseg's ``EncoderDecoder``; use
``mmseg.apis.init_model``) and the point-cloud models (mmengine models) stay listed in ``model-index.yml`` only.
"""
from __future__ import annotations

from backbones.mim import MIM, mim_path

#: model indexes registered with mmpretrain's ModelHub, relative to the package's data folder (:mod:`backbones.mim`).
METAFILES = ("configs/classification/metafile.yml",)

_registered: list[str] = []


def register_model_index() -> list[str]:
    """Register the zoo's classification models with mmpretrain's ``ModelHub`` (once); returns their names.

    Config paths in the metafiles are relative to the package's ``.mim`` folder.

    Raises:
        FileNotFoundError: the package carries no metafile (a broken install: the message says where it looked).
        ValueError: a metafile is malformed (its check errors are named) or a name is taken already.
    """
    if _registered:
        return list(_registered)
    from mmpretrain.apis import ModelHub
    from modelindex.load_model_index import load

    for rel in METAFILES:
        path = mim_path(rel)  # raises, naming it, when the package was installed without its data
        index = load(str(path))
        errors = list(index.check_errors) + [e for m in index.models for e in m.check_errors]
        if errors:
            raise ValueError(f"{path}: {errors[:5]}")
        ModelHub.register_model_index(path, config_prefix=MIM)
        _registered.extend(m.name.lower() for m in index.models)
    return list(_registered)
