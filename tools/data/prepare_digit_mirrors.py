"""Build the bundled digit-mirrors dataset: `backbones-prepare-data digit-mirrors --help`."""
from backbones_cli.prepare_data import tool

if __name__ == "__main__":
    tool("digit-mirrors")
