"""Train any config of the zoo (classification, segmentation, point clouds) with mmengine's Runner.

The tool is :mod:`backbones.cli.train` (``python -m backbones.cli.train --help``, console script
``backbones-train``); this file runs it, as OpenMMLab's ``tools/`` scripts do.
"""
from backbones.cli.train import cli, main  # noqa: F401  (main: the tests call it)

if __name__ == "__main__":
    cli()
