"""Export any task's model (plain or deploy form) to ONNX, TorchScript or torch.export and run it back.

The tool is :mod:`backbones.cli.export` (``python -m backbones.cli.export --help``, console script
``backbones-export``); this file runs it, as OpenMMLab's ``tools/`` scripts do.
"""
from backbones.cli.export import cli, main  # noqa: F401  (main: the tests call it)

if __name__ == "__main__":
    cli()
