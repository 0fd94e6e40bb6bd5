"""``backbones-prepare-data``: build a bundled dataset (generated offline, deterministic, atomically in place).

Usage::

    backbones-prepare-data digits OUT [--size 32] [--val-fraction 0.2] [--seed 0]
    backbones-prepare-data digit-scenes OUT [--size 64] [--train 2000] [--val 400] [--seed 0]
    backbones-prepare-data digit-detection OUT [--min-size 128] [--max-size 192] [--train 4800] [--val 300] [--seed 0]
    backbones-prepare-data digit-pairs [OUT] [--digits data/digits] [--rule sum]
    backbones-prepare-data digit-mirrors [OUT] [--digits data/digits]
    backbones-prepare-data shapes OUT [--train 60] [--test 20] [--points 1024] [--seed 0]

The generators are the library's (``backbones.bundled``); layouts: docs/datasets.md. The flags parse here, before the
library is imported, so ``--help`` answers at once.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

#: the digit-pair label rules (``backbones.bundled.digit_pairs.LABEL_RULES``).
PAIR_RULES = ("same", "sum")


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    """One sub-command per bundled dataset, with its generator's options."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="dataset", required=True)
    digits = sub.add_parser("digits", help="scikit-learn's 1,797 handwritten digits as a class-per-folder image set")
    digits.add_argument("out_dir")
    digits.add_argument("--size", type=int, default=32)
    digits.add_argument("--val-fraction", type=float, default=0.2)
    digits.add_argument("--seed", type=int, default=0)
    scenes = sub.add_parser("digit-scenes", help="canvases of digits with label maps (semantic segmentation)")
    scenes.add_argument("out_dir")
    scenes.add_argument("--size", type=int, default=64, help="canvas side in pixels")
    scenes.add_argument("--train", type=int, default=2000, help="number of train scenes")
    scenes.add_argument("--val", type=int, default=400, help="number of val scenes")
    scenes.add_argument("--seed", type=int, default=0)
    det = sub.add_parser("digit-detection", help="canvases of 2-5 digits with boxes and instance masks (COCO format)")
    det.add_argument("out_dir")
    det.add_argument("--min-size", type=int, default=128, help="smallest canvas side in pixels")
    det.add_argument("--max-size", type=int, default=192, help="largest canvas side in pixels")
    det.add_argument("--train", type=int, default=4800, help="number of train images")
    det.add_argument("--val", type=int, default=300, help="number of val images")
    det.add_argument("--seed", type=int, default=0)
    pairs = sub.add_parser("digit-pairs", help="two digits per image, labelled by a rule on both (needs mixing)")
    pairs.add_argument("out_dir", nargs="?", default="data/digit_pairs")
    pairs.add_argument("--digits", default="data/digits", help="the digits folder (built there if missing)")
    pairs.add_argument("--rule", default="sum", choices=PAIR_RULES, help="label rule (the configs: sum)")
    mirrors = sub.add_parser("digit-mirrors", help="a digit and its mirror image in one picture (generation: the "
                                                   "two halves must agree)")
    mirrors.add_argument("out_dir", nargs="?", default="data/digit_mirrors")
    mirrors.add_argument("--digits", default="data/digits", help="the digits folder (built there if missing)")
    shapes = sub.add_parser("shapes", help="generated point-cloud shapes in ModelNet40 / ShapeNetPart layouts")
    shapes.add_argument("out_dir")
    shapes.add_argument("--train", type=int, default=60, help="training shapes per class / category")
    shapes.add_argument("--test", type=int, default=20, help="test (and, for parts, val) shapes per class")
    shapes.add_argument("--points", type=int, default=1024, help="points per shape")
    shapes.add_argument("--seed", type=int, default=0)
    return parser


def _summary(path: Path) -> dict:
    return json.loads((Path(path) / "dataset.json").read_text())


def run(args: argparse.Namespace) -> None:
    """Build the dataset ``args.dataset`` and print where it is."""
    if args.dataset == "digits":
        out = importlib.import_module("backbones.bundled.digits").prepare(args.out_dir, args.size, args.val_fraction,
                                                                          args.seed)
        info = _summary(out)
        print(f"digits: {info['train']} train / {info['val']} val images in {out} (sha256 {info['sha256'][:12]})")
    elif args.dataset == "digit-scenes":
        out = importlib.import_module("backbones.bundled.digit_scenes").prepare(args.out_dir, args.size, args.train,
                                                                                args.val, args.seed)
        print(f"digit scenes: {args.train} train / {args.val} val scenes of {args.size}x{args.size} in {out} "
              f"(sha256 {_summary(out)['sha256'][:12]})")
    elif args.dataset == "digit-detection":
        out = importlib.import_module("backbones.bundled.digit_detection").prepare(
            args.out_dir, args.min_size, args.max_size, args.train, args.val, args.seed)
        counts = _summary(out)["counts"]
        print(f"digit detection: {counts['train']['images']} train images ({counts['train']['instances']} digits) / "
              f"{counts['val']['images']} val images ({counts['val']['instances']} digits) in {out} "
              f"(sha256 {_summary(out)['sha256'][:12]})")
    elif args.dataset == "digit-pairs":
        importlib.import_module("backbones.bundled.digits").prepare(args.digits)
        out = importlib.import_module("backbones.bundled.digit_pairs").prepare_pairs(args.out_dir, args.digits,
                                                                                     rule=args.rule)
        print(f"digit pairs in {out}")
    elif args.dataset == "digit-mirrors":
        importlib.import_module("backbones.bundled.digits").prepare(args.digits)
        out = importlib.import_module("backbones.bundled.digit_mirrors").prepare_mirrors(args.out_dir, args.digits)
        print(f"digit mirrors in {out}")
    else:
        built = importlib.import_module("backbones.bundled.shapes").prepare(args.out_dir, args.train, args.test,
                                                                            args.points, args.seed)
        for kind, path in built.items():
            counts = {k: v for k, v in _summary(path).items() if k in ("train", "val", "test")}
            print(f"shapes ({kind}): {counts} in {path} (sha256 {_summary(path)['sha256'][:12]})")


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Parse, build; returns the exit code."""
    run(parser(prog).parse_args(argv))
    return 0


def cli() -> None:
    """The console entry point ``backbones-prepare-data``."""
    raise SystemExit(main(prog="backbones-prepare-data"))


def tool(dataset: str) -> None:
    """``tools/data/prepare_<dataset>.py ARGS``: the sub-command of one dataset."""
    raise SystemExit(main([dataset, *sys.argv[1:]], prog=f"{Path(sys.argv[0]).name}"))


if __name__ == "__main__":
    cli()
