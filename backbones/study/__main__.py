"""``python -m backbones.study STUDY [--quick] [--out DIR]``: see :mod:`backbones.study.cli`."""
import sys

from .cli import main

sys.exit(main())
