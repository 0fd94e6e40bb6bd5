"""Build the bundled shapes dataset (see backbones/bundled/shapes.py for the layout and options)."""
from backbones.bundled.shapes import main

if __name__ == "__main__":
    raise SystemExit(main())
