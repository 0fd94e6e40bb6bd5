"""Build the bundled digit-detection dataset (COCO format): `backbones-prepare-data digit-detection --help`."""
from backbones_cli.prepare_data import tool

if __name__ == "__main__":
    tool("digit-detection")
