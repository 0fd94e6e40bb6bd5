"""The FLOP counter: ``backbones-flops`` (flags and help: :func:`backbones_cli.parsers.flops`)."""
from __future__ import annotations

from backbones.apis.inspection import config_flops, preset_flops
from backbones_cli import parsers


def main(argv: list[str] | None = None) -> list[dict]:
    """Command-line entry point; prints a markdown table and returns its rows."""
    parser = parsers.flops()
    args = parser.parse_args(argv)
    shape = tuple(args.shape)
    if args.presets:
        rows = preset_flops(shape, args.deploy)
    elif args.config:
        rows = [config_flops(args.config, shape, args.deploy)]
    else:
        parser.error("give a CONFIG or --presets")
    form = "deploy form" if args.deploy else "plain model"
    print(f"input {shape[0]}x{shape[1]}, {form}\n| model | params | GFLOPs | GMACs |\n|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['params']:,} | {r['gflops']:.2f} | {r['gflops'] / 2:.2f} |")
    return rows


def cli() -> None:
    """The console entry point."""
    main()


if __name__ == "__main__":
    cli()
