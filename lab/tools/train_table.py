"""Train every registered mixer on a bundled dataset, evaluate it and print the table (see lab/runs/tables.py).

Usage: python lab/tools/train_table.py {digits,digit-scenes,shapes-cls,shapes-part} [--mixers ...] [--seeds ...]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: the lab is not installed

from lab.runs.tables import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
