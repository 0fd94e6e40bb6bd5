"""Build the bundled digit-pairs dataset: `backbones-prepare-data digit-pairs --help`."""
from backbones_cli.prepare_data import tool

if __name__ == "__main__":
    tool("digit-pairs")
