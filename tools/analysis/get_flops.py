"""Parameters and FLOPs of a config's model (or of every preset) at an input shape.

The tool is :mod:`backbones.cli.flops` (``python -m backbones.cli.flops --help``, console script
``backbones-flops``); this file runs it, as OpenMMLab's ``tools/`` scripts do.
"""
from backbones.cli.flops import cli, main  # noqa: F401  (main: the tests call it)

if __name__ == "__main__":
    cli()
