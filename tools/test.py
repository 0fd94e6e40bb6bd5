"""Test a checkpoint of any config of the zoo with mmengine's Runner.

The tool is :mod:`backbones.cli.test` (``python -m backbones.cli.test --help``, console script
``backbones-test``); this file runs it, as OpenMMLab's ``tools/`` scripts do.
"""
from backbones.cli.test import cli, main  # noqa: F401  (main: the tests call it)

if __name__ == "__main__":
    cli()
