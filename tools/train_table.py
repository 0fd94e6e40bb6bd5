"""Train every registered mixer on a bundled dataset, evaluate it and print the table (see backbones/cli/tables.py).

Usage: python tools/train_table.py {digits,digit-scenes,shapes-cls,shapes-part} [--mixers ...] [--seeds ...]
"""
from backbones.cli.tables import main

if __name__ == "__main__":
    raise SystemExit(main())
