"""mmengine's checkpoint schemes, every one through the safe loader
(:func:`~backbones.engine.checkpoint.safe_load.safe_load`).

mmengine's ``CheckpointLoader`` picks a loader by the name's prefix: local paths, ``http://`` / ``https://``,
the model-zoo names ``torchvision://``, ``modelzoo://``, ``open-mmlab://``, ``openmmlab://`` and ``mmcls://``
(which resolve to URLs or to files under mmengine's home), ``pavi://``, ``s3://`` / ``petrel://``, and any
scheme another package registers. Its own loaders call ``torch.load`` or torch hub's
``load_state_dict_from_url``, which unpickles fully: a checkpoint named by URL could run code.
:func:`use_safe_loader` registers, for every scheme, a loader that only fetches the bytes and reads them with
the safe loader:

* local paths: :func:`safe_load` on the file;
* URLs: the file is cached in the zoo's own folder (:func:`cache_dir`: ``$BACKBONES_CACHE``, else
  ``$XDG_CACHE_HOME/backbones/checkpoints``, never torch hub's shared folder unless pointed there), under a
  sub-folder named by the hash of the full URL (host, path and query: the same file name from two hosts, or with
  ``?v=2``, are two entries); downloaded once (in a distributed run by local rank 0 first); its SHA-256 is checked
  on every load when the file name carries a hash, torch hub's convention ``name-<8 or more hex digits>.ext``
  (the hash is a prefix of the digest); a file the safe loader refuses, or whose hash fails, is deleted from the
  zoo's cache and from torch hub's (when a copy with the same bytes is there), so no later load can run it;
* model-zoo names: resolved with mmengine's own tables, then as a URL or a file under mmengine's home;
* object stores and other schemes: the bytes through mmengine's file backend for that path.

:func:`load_weights` is the zoo's own entry point (every scheme, safe); :func:`use_safe_loader`, called when
:mod:`backbones` is imported, registers these loaders with mmengine's ``CheckpointLoader`` (its public
``register_scheme``) for code outside the zoo.
"""
from __future__ import annotations

import hashlib
import io
import os
import os.path as osp
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from backbones.engine.checkpoint.safe_load import CheckpointReadError, UnsafeCheckpointError, safe_load
from backbones.utils.files import file_sha256

#: torch hub's convention for a hash in a file name: ``name-<hex>.ext``, the hex digits a SHA-256 prefix (8+).
HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")
URL_SCHEMES = ("http://", "https://")


def load_from_local_safe(filename: str, map_location: Any = None) -> Any:
    """Scheme ``''``: a local file through :func:`safe_load`."""
    return safe_load(osp.expanduser(filename), map_location)


#: the environment variable naming the zoo's download cache.
CACHE_ENV = "BACKBONES_CACHE"


def cache_dir(model_dir: str | None = None) -> Path:
    """Where downloaded checkpoints are kept: ``model_dir``, else ``$BACKBONES_CACHE``, else
    ``$XDG_CACHE_HOME/backbones/checkpoints`` (``~/.cache/backbones/checkpoints``)."""
    if model_dir is None:
        model_dir = os.environ.get(CACHE_ENV) or osp.join(
            os.environ.get("XDG_CACHE_HOME") or osp.join("~", ".cache"), "backbones", "checkpoints")
    return Path(model_dir).expanduser()


def cached_path(url: str, model_dir: str | None = None) -> Path:
    """The cache file of ``url``: ``<cache>/<16 hex digits of the SHA-256 of the full URL>/<file name>``.

    Raises:
        CheckpointReadError: the URL's path names no file.
    """
    name = osp.basename(urlparse(url).path)
    if not name:
        raise CheckpointReadError(f"checkpoint URL {url} names no file")
    return cache_dir(model_dir) / hashlib.sha256(url.encode()).hexdigest()[:16] / name


def purge(path: Path) -> list[Path]:
    """Delete a refused download from the zoo's cache and any copy with the same bytes in torch hub's cache (where
    mmengine's own loader, or an older zoo, kept downloads by file name); returns the deleted files."""
    import torch.hub

    if not path.is_file():
        return []
    digest = file_sha256(path)
    deleted = [path]
    hub_copy = Path(torch.hub.get_dir()) / "checkpoints" / path.name
    if hub_copy.is_file() and hub_copy.resolve() != path.resolve() and file_sha256(hub_copy) == digest:
        hub_copy.unlink()
        deleted.append(hub_copy)
    path.unlink()
    return deleted


def expected_hash(path: str | Path) -> str | None:
    """The SHA-256 prefix a file name carries (torch hub's ``name-<hash>.ext``), or None."""
    m = HASH_IN_NAME.search(Path(path).name)
    return m.group(1) if m else None


def verify_hash(path: Path, source: str) -> None:
    """Check ``path``'s SHA-256 against the prefix its name carries (nothing to check without one).

    Raises:
        CheckpointReadError: the digest does not start with the name's hash (file, expected and actual named).
    """
    want = expected_hash(path)
    if want is None:
        return
    got = file_sha256(path)
    if not got.startswith(want):
        raise CheckpointReadError(f"checkpoint {path} (from {source}) fails its hash check: the name expects a "
                                  f"SHA-256 starting {want}, the file's is {got}")


def fetch_url(url: str, model_dir: str | None = None) -> Path:
    """The cached file of ``url``, downloaded first when it is not cached; hash-checked (:func:`verify_hash`).

    In a distributed run local rank 0 downloads while the others wait, then they read the cache.

    Raises:
        CheckpointReadError: the URL names no file, the download failed, or the hash does not match.
    """
    from mmengine.dist import barrier, get_dist_info

    path = cached_path(url, model_dir)
    rank, world_size = get_dist_info()
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if local_rank == 0 and not path.is_file():
        _download(url, path)
    if world_size > 1:
        barrier()
        if not path.is_file():
            _download(url, path)
    try:
        verify_hash(path, url)
    except CheckpointReadError as e:
        purge(path)
        raise CheckpointReadError(f"{e}; the file was deleted from the cache") from None
    return path


def _download(url: str, path: Path) -> None:
    import torch.hub

    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # torch writes to a temporary sibling and renames it, and checks the hash prefix while downloading
        torch.hub.download_url_to_file(url, str(path), hash_prefix=expected_hash(path), progress=False)
    except Exception as e:
        if "invalid hash value" in str(e):
            raise CheckpointReadError(f"checkpoint {url} fails its hash check while downloading ({e}); nothing was "
                                      f"kept") from e
        raise CheckpointReadError(f"checkpoint {url} could not be downloaded to {path}: {type(e).__name__}: {e}"
                                  ) from e


def load_from_http_safe(filename: str, map_location: Any = None, model_dir: str | None = None) -> Any:
    """Schemes ``http://`` and ``https://``: the cached, hash-checked file through :func:`safe_load`."""
    return _load_url(filename, map_location, model_dir)


def _load_url(url: str, map_location: Any, model_dir: str | None = None, named: str | None = None) -> Any:
    """``url`` through its cached file; errors name ``named`` (the name the user gave) when it is not the URL."""
    path = fetch_url(url, model_dir)
    shown = f"{named} ({url}, cached as {path})" if named else f"{url} (cached as {path})"
    try:
        return safe_load(path, map_location, name=shown)
    except (UnsafeCheckpointError, CheckpointReadError) as e:
        gone = purge(path)
        raise type(e)(f"{e}; deleted from the cache: {', '.join(map(str, gone)) or '-'}") from None


def _url_or_home_file(target: str, what: str, map_location: Any) -> Any:
    """A model-zoo entry: a URL, or a path relative to mmengine's home (``MMENGINE_HOME``)."""
    if target.startswith(URL_SCHEMES):
        return _load_url(target, map_location, named=what)
    from mmengine.runner.checkpoint import _get_mmengine_home

    path = osp.join(_get_mmengine_home(), target)
    if not osp.isfile(path):
        raise FileNotFoundError(f"checkpoint {what} resolves to {path}, which does not exist")
    return safe_load(path, map_location, name=f"{what} ({path})")


def _zoo_entry(table: dict, key: str, filename: str) -> str:
    if key not in table:
        raise KeyError(f"checkpoint {filename}: {key!r} is not in the model zoo's table "
                       f"({len(table)} names, e.g. {sorted(table)[:3]})")
    return table[key]


def load_from_torchvision_safe(filename: str, map_location: Any = None) -> Any:
    """Schemes ``torchvision://`` and ``modelzoo://``: torchvision's URL for the name, then as a URL."""
    from mmengine.runner.checkpoint import get_torchvision_models

    name = filename.split("://", 1)[1]
    return _load_url(_zoo_entry(get_torchvision_models(), name, filename), map_location, named=filename)


def load_from_openmmlab_safe(filename: str, map_location: Any = None) -> Any:
    """Schemes ``open-mmlab://`` and ``openmmlab://``: mmengine's table (plus ``MMENGINE_HOME/open_mmlab.json``),
    deprecated names mapped to their successors, then a URL or a file under mmengine's home."""
    from mmengine.runner.checkpoint import get_deprecated_model_names, get_external_models

    name = filename.split("://", 1)[1]
    name = get_deprecated_model_names().get(name, name)
    return _url_or_home_file(_zoo_entry(get_external_models(), name, filename), filename, map_location)


def load_from_mmcls_safe(filename: str, map_location: Any = None) -> Any:
    """Scheme ``mmcls://``: mmengine's mmcls table, then the backbone keys as mmengine keeps them."""
    from mmengine.runner.checkpoint import _process_mmcls_checkpoint, get_mmcls_models

    name = filename.split("://", 1)[1]
    url = _zoo_entry(get_mmcls_models(), name, filename)
    return _process_mmcls_checkpoint(_load_url(url, map_location, named=filename))


def load_from_pavi_safe(filename: str, map_location: Any = None) -> Any:
    """Scheme ``pavi://``: downloaded from pavi's model cloud to a temporary folder, then :func:`safe_load`."""
    try:
        from pavi import modelcloud
    except ImportError as e:
        raise ImportError(f"checkpoint {filename}: loading pavi:// checkpoints needs the pavi package") from e
    model = modelcloud.get(filename[len("pavi://"):])
    with tempfile.TemporaryDirectory() as folder:
        path = osp.join(folder, model.name)
        model.download(path)
        return safe_load(path, map_location, name=filename)


def bytes_loader(backend: str | None = None) -> Callable[[str, Any], Any]:
    """A scheme loader that reads the checkpoint's bytes through mmengine's file backend (``backend`` by name, or
    the one mmengine infers from the path's prefix) and :func:`safe_load` s them."""

    def load_bytes(filename: str, map_location: Any = None) -> Any:
        from mmengine.fileio import get_file_backend

        args = {"backend": backend} if backend else None
        try:
            data = get_file_backend(filename, backend_args=args).get(filename)
        except Exception as e:
            raise CheckpointReadError(f"checkpoint {filename} cannot be fetched through mmengine's file backend "
                                      f"for it: {type(e).__name__}: {e}") from e
        return safe_load(io.BytesIO(data), map_location, name=filename)

    load_bytes.__name__ = f"load_from_{backend or 'file_backend'}_safe"
    return load_bytes


def safe_schemes() -> dict[str | tuple[str, ...], Callable[..., Any]]:
    """mmengine's schemes (its prefixes, as it registers them) -> the safe loader of each."""
    return {
        "": load_from_local_safe,
        URL_SCHEMES: load_from_http_safe,
        ("modelzoo://", "torchvision://"): load_from_torchvision_safe,
        ("open-mmlab://", "openmmlab://"): load_from_openmmlab_safe,
        "mmcls://": load_from_mmcls_safe,
        "pavi://": load_from_pavi_safe,
        (r"(\S+\:)?s3://", r"(\S+\:)?petrel://"): bytes_loader("petrel"),
    }


def _scheme_loader(filename: str) -> Callable[..., Any]:
    """The safe loader of ``filename``'s scheme, matched as mmengine matches (longest prefix first, as a regular
    expression); a scheme the zoo does not know reads its bytes through mmengine's file backend."""
    table = [(prefix, loader) for prefixes, loader in safe_schemes().items()
             for prefix in ((prefixes,) if isinstance(prefixes, str) else prefixes) if prefix]
    for prefix, loader in sorted(table, key=lambda item: len(item[0]), reverse=True):
        if re.match(prefix, filename) is not None:
            return loader
    return bytes_loader() if re.match(r"^[A-Za-z][\w+.-]*://", filename) else load_from_local_safe


def load_weights(filename: str | os.PathLike, map_location: Any = "cpu") -> Any:
    """Load a checkpoint by any scheme mmengine knows, always through the safe loader: the zoo's own loading
    (``pretrained=``, ``init_cfg=dict(type='Pretrained')``, the inferencers and tools) calls this, so it is safe
    after a plain ``import backbones``, whichever loader mmengine holds for the scheme.

    Raises:
        FileNotFoundError, UnsafeCheckpointError, CheckpointReadError: as :func:`safe_load` (file named).
    """
    filename = str(filename)
    return _scheme_loader(filename)(filename, map_location)


def _is_safe(loader: Callable) -> bool:
    return getattr(loader, "__module__", None) == __name__


def for_mmengine(loader: Callable[..., Any]) -> Callable[..., Any]:
    """``loader`` as a scheme of mmengine's ``CheckpointLoader``: what it returns must be a dict (a state dict, or a
    checkpoint holding one), which mmengine indexes; anything else is refused naming the file, instead of a
    traceback from inside mmengine."""

    def load(filename: str, map_location: Any = None, *args: Any, **kwargs: Any) -> Any:
        checkpoint = loader(filename, map_location, *args, **kwargs)
        if not isinstance(checkpoint, dict):
            raise CheckpointReadError(f"checkpoint {filename} holds a {type(checkpoint).__name__}, not a dict: "
                                      f"mmengine loads a state dict or a checkpoint dict with a 'state_dict' entry")
        return checkpoint

    load.__name__ = load.__qualname__ = loader.__name__
    load.__module__ = __name__
    return load


def use_safe_loader() -> None:
    """Register the safe loader (:func:`safe_schemes`, each refusing a checkpoint that is not a dict) for every scheme
    mmengine's ``CheckpointLoader`` ships, through its public ``register_scheme``. Idempotent.

    Called when :mod:`backbones` is imported: after ``import backbones`` (a config's ``custom_imports``), every
    tool that loads through mmengine - mmpretrain's and mmseg's ``tools/test.py``, ``load_from``, ``--resume``, the
    inferencers - reads checkpoints with the safe loader, and mmengine's own checkpoints (message hub, numpy
    values) load under torch's weights-only default. A scheme another package registered before this import reads
    its bytes through mmengine's file backend and the safe loader too (mmengine has no public list of its schemes:
    its table is read, never changed but through ``register_scheme``); one registered after keeps its own loader
    (:func:`unsafe_schemes` lists such).
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    for prefixes, loader in safe_schemes().items():
        CheckpointLoader.register_scheme(prefixes=prefixes, loader=for_mmengine(loader), force=True)
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        if not _is_safe(loader):
            CheckpointLoader.register_scheme(prefixes=prefix, loader=for_mmengine(bytes_loader()), force=True)


def unsafe_schemes() -> list[str]:
    """The prefixes of mmengine's ``CheckpointLoader`` whose loader is not one of this module's (empty after
    :func:`use_safe_loader`, unless another package registered a scheme after it)."""
    from mmengine.runner.checkpoint import CheckpointLoader

    return [prefix for prefix, loader in CheckpointLoader._schemes.items() if not _is_safe(loader)]
