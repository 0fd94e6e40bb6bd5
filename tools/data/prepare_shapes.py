"""Build the bundled shapes dataset: `backbones-prepare-data shapes --help`."""
from backbones_cli.prepare_data import tool

if __name__ == "__main__":
    tool("shapes")
