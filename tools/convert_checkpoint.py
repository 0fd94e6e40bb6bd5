"""Convert an official checkpoint (timm, ff, deepvit, eamlp, eanet) to the zoo's layout.

The tool is :mod:`backbones.cli.convert` (``python -m backbones.cli.convert --help``, console script
``backbones-convert``); this file runs it, as OpenMMLab's ``tools/`` scripts do.
"""
from backbones.cli.convert import cli, main  # noqa: F401  (main: the tests call it)

if __name__ == "__main__":
    cli()
