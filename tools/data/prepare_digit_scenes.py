"""Build the bundled digit scenes dataset (see backbones/bundled/digit_scenes.py for the layout and options)."""
from backbones.bundled.digit_scenes import main

if __name__ == "__main__":
    raise SystemExit(main())
