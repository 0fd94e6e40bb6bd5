"""Build the bundled digits dataset: `backbones-prepare-data digits --help`."""
from backbones_cli.prepare_data import tool

if __name__ == "__main__":
    tool("digits")
