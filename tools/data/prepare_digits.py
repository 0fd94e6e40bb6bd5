"""Build the bundled digits dataset (see backbones/bundled/digits.py for the layout and options)."""
from backbones.bundled.digits import main

if __name__ == "__main__":
    raise SystemExit(main())
