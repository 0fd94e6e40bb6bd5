"""Build the bundled digit pairs dataset (see backbones/bundled/digit_pairs.py for the layout and options)."""
from backbones.bundled.digit_pairs import main

if __name__ == "__main__":
    raise SystemExit(main())
