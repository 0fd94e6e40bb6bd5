"""The preset check: ``backbones-demo`` (flags and help: :func:`backbones_cli.parsers.demo`)."""
from __future__ import annotations

from backbones.apis.inspection import check_preset
from backbones.models.presets import PRESETS
from backbones_cli import parsers


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (1 if a preset's count differs or its output is not finite)."""
    parser = parsers.demo()
    args = parser.parse_args(argv)
    names = list(PRESETS) if args.presets is None else args.presets
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        parser.error(f"argument --presets: invalid choice: {unknown[0]!r} (choose from {', '.join(PRESETS)})")
    print(f"{'preset':<13} {'mixer':<26} {'params':>12} {'official':>12}  {'forward (2 imgs)':>16}  check")
    ok = True
    for arch in names:
        params, seconds, finite = check_preset(arch, args.img_size)
        mixer = PRESETS[arch]["mixer"]
        kinds = sorted({m["type"] for m in (mixer if isinstance(mixer, list) else [mixer])})
        good = finite and params == PRESETS[arch]["params"]
        ok &= good
        print(f"{arch:<13} {'+'.join(kinds):<26} {params:>12,} {PRESETS[arch]['params']:>12,}  {seconds:>14.3f} s  "
              f"{'ok' if good else 'FAIL'}")
    print("all presets match the official parameter counts and run" if ok else "SOME PRESETS FAILED")
    return 0 if ok else 1


def cli() -> None:
    """The console entry point: exit with :func:`main`'s code."""
    raise SystemExit(main())


if __name__ == "__main__":
    cli()
