"""``python -m lab.study STUDY [--quick] [--out DIR]``: see :mod:`lab.study.cli`."""
import sys

from lab.study.cli import main

sys.exit(main())
