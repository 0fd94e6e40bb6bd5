"""Where the package keeps its data, as OpenMMLab's wheels do: ``backbones/.mim/`` holds ``configs/``, ``tools/`` and
``model-index.yml`` (in a checkout, links to the repository's folders; in a wheel, copies)."""
from __future__ import annotations

from pathlib import Path

#: the package's data folder.
MIM = Path(__file__).resolve().parent / ".mim"


def mim_path(*parts: str) -> Path:
    """A path inside the package's data (``mim_path('configs', 'classification')``).

    Raises:
        FileNotFoundError: it does not exist (the package was installed without its data: build the wheel with
            ``pip wheel .``, which copies the files into ``backbones/.mim/``).
    """
    path = MIM.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the package was installed without its data (configs, tools and "
                                f"model index; build the wheel with `pip wheel .`, which copies them into "
                                f"backbones/.mim/)")
    return path
