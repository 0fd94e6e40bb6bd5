"""``backbones-configs``: the configs the package carries, found by name from an installed wheel (mmengine's
``package::`` prefix only knows OpenMMLab's own packages, so a downstream config inherits a shipped one by its path).

Usage::

    backbones-configs list [PATTERN]     # shipped configs (paths under configs/), e.g. 'digits/*'
    backbones-configs models [PATTERN]   # the model index: name and config
    backbones-configs path NAME          # the absolute path of a config: a model name or a path

A downstream config then names that path in its ``_base_`` (``_base_ = ['/.../backbones/.mim/configs/...']``).
The package is located, not imported: the command answers without loading torch.
"""
from __future__ import annotations

import argparse
import fnmatch
import importlib.util
from pathlib import Path


def mim_root() -> Path:
    """The package's data folder ``backbones/.mim`` (configs, tools, model index), found without importing it."""
    spec = importlib.util.find_spec("backbones")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the backbones package is not installed")
    return Path(list(spec.submodule_search_locations)[0]).resolve() / ".mim"


def config_root() -> Path:
    """The ``configs/`` folder the package carries.

    Raises:
        FileNotFoundError: the package was installed without its data.
    """
    root = mim_root() / "configs"
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is missing: the package was installed without its data (build the wheel with "
                                f"`pip wheel .`, which copies configs, tools and model index into backbones/.mim/)")
    return root


def shipped_configs(pattern: str = "*") -> list[str]:
    """The shipped configs (paths relative to ``configs/``, ``_base_`` pieces excluded) matching a glob pattern, from
    the start of the path or of any folder in it (``'digits/*'`` finds ``classification/digits/...``)."""
    root = config_root()
    found = (str(p.relative_to(root)) for p in sorted(root.rglob("*.py")) if "_base_" not in p.parts)
    return [p for p in found if fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, f"*/{pattern}")]


def model_configs() -> dict[str, str]:
    """Every model of the package's model index: name -> config path relative to ``configs/``."""
    from modelindex.load_model_index import load

    index = load(str(mim_root() / "model-index.yml"))
    return {m.name.lower(): str(Path(m.config).relative_to("configs")) for m in index.models}


def find_config(name: str) -> Path:
    """The absolute path of a shipped config: a model name of the index (``'vit-tiny'``), a path relative to
    ``configs/`` (``'classification/digits/....py'``) or a file name.

    Raises:
        FileNotFoundError: no config matches (a few names that do are suggested).
    """
    root = config_root()
    models = model_configs()
    if name.lower() in models:
        return root / models[name.lower()]
    rel = name.removeprefix("configs/")
    if (root / rel).is_file():
        return root / rel
    named = [p for p in shipped_configs() if Path(p).name == Path(rel).name]
    if len(named) == 1:
        return root / named[0]
    close = shipped_configs(f"*{Path(rel).stem}*")[:5] or sorted(models)[:5]
    raise FileNotFoundError(f"no shipped config or model named {name!r} (under {root}); e.g. {close}")


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command's flags."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("list", "models"):
        sub.add_parser(command).add_argument("pattern", nargs="?", default="*")
    sub.add_parser("path").add_argument("name")
    return parser


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """List or locate the shipped configs; returns the exit code."""
    args = parser(prog).parse_args(argv)
    try:
        if args.command == "list":
            print("\n".join(shipped_configs(args.pattern)))
        elif args.command == "models":
            for name, config in model_configs().items():
                if fnmatch.fnmatch(name, args.pattern):
                    print(f"{name}\t{config}")
        else:
            print(find_config(args.name))
    except FileNotFoundError as e:
        print(f"error: {e}")
        return 1
    return 0


def cli() -> None:
    """The console entry point ``backbones-configs``."""
    raise SystemExit(main(prog="backbones-configs"))


if __name__ == "__main__":
    cli()
