"""The console commands' entry points, one module per command (``python -m backbones.cli.NAME``; flags, help and
dispatch: :mod:`backbones_cli`): each parses, calls the library and prints. What the train / test commands share
(building mmengine's runner from the flags) is :mod:`.common`."""
