"""Build the bundled digit-scenes dataset: `backbones-prepare-data digit-scenes --help`."""
from backbones_cli.prepare_data import tool

if __name__ == "__main__":
    tool("digit-scenes")
