"""The checkpoint converter: ``backbones-convert`` (flags and help: :func:`backbones_cli.parsers.convert`)."""
from __future__ import annotations

import sys

from backbones.converters import ConversionError, convert_checkpoint
from backbones.models.presets import PRESETS
from backbones_cli import parsers


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = parsers.convert()
    args = parser.parse_args(argv)
    if args.arch is not None and args.arch not in PRESETS:
        parser.error(f"argument --arch: invalid choice: {args.arch!r} (choose from {', '.join(sorted(PRESETS))})")
    try:
        arch, state = convert_checkpoint(args.format, args.src, args.dst, args.arch, args.unsafe_full_unpickle)
    except ConversionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    classifier = next((state[k] for k in ("head.fc.weight", "decode_head.conv_seg.weight") if k in state), None)
    classes = classifier.shape[0] if classifier is not None else "no"
    print(f"{args.src} -> {args.dst}: preset {arch}, {len(state)} tensors, {classes}-class head")
    return 0


def cli() -> None:
    """The console entry point: exit with :func:`main`'s code."""
    raise SystemExit(main())


if __name__ == "__main__":
    cli()
