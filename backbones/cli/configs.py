"""The configs the package carries, found by name: :mod:`backbones_cli.configs` (``backbones-configs``), which
answers without importing the library; kept here for ``python -m backbones.cli.configs``."""
from __future__ import annotations

from backbones_cli.configs import cli, config_root, find_config, main, model_configs, shipped_configs

__all__ = ["cli", "config_root", "find_config", "main", "model_configs", "shipped_configs"]

if __name__ == "__main__":
    cli()
