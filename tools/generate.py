"""Write a grid of class-conditional samples of a trained generation config as a PNG file.

The tool is :mod:`backbones.cli.generate` (``python -m backbones.cli.generate --help``, console script
``backbones-generate``); this file runs it, as OpenMMLab's ``tools/`` scripts do.
"""
from backbones.cli.generate import cli, main  # noqa: F401  (main: the tests call it)

if __name__ == "__main__":
    cli()
