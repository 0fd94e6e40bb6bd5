"""Overlay a trained model's attention on an input image (PNG).

The tool is :mod:`backbones.cli.vis_attention` (``python -m backbones.cli.vis_attention --help``, console script
``backbones-vis-attention``); this file runs it, as OpenMMLab's ``tools/`` scripts do.
"""
from backbones.cli.vis_attention import cli, main  # noqa: F401  (main: the tests call it)

if __name__ == "__main__":
    cli()
