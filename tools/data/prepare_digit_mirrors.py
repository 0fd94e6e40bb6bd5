"""Build the bundled mirrored-digits dataset (see backbones/bundled/digit_mirrors.py for the layout)."""
from backbones.bundled.digit_mirrors import main

if __name__ == "__main__":
    raise SystemExit(main())
