"""Build every preset of the zoo, print its parameter count against the official one and check a forward pass.

The tool is :mod:`backbones.cli.demo` (``python -m backbones.cli.demo --help``, console script ``backbones-demo``);
this file runs it, as OpenMMLab's ``tools/`` scripts do.
"""
from backbones.cli.demo import cli, main  # noqa: F401  (main: the tests call it)

if __name__ == "__main__":
    cli()
