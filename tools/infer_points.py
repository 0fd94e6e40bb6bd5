"""Predict point or mesh files with a trained point-cloud config.

The tool is :mod:`backbones.cli.infer_points` (``python -m backbones.cli.infer_points --help``, console script
``backbones-infer-points``); this file runs it, as OpenMMLab's ``tools/`` scripts do.
"""
from backbones.cli.infer_points import cli, main  # noqa: F401  (main: the tests call it)

if __name__ == "__main__":
    cli()
