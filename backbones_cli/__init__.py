"""The zoo's console commands (``backbones-train``, ``backbones-test``, ...): their flags, help and dispatch.

This package imports nothing heavy: a command parses its flags here (``--help`` and usage errors answer at once,
without torch, mmengine's models or the task libraries), then imports its implementation, ``backbones.cli.<name>``,
by name and runs it. The library's tools (``tools/*.py``, ``python -m backbones.cli.<name>``) parse with the same
parsers (:mod:`backbones_cli.parsers`), so every route takes the same flags.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

from backbones_cli import parsers

#: console command -> (the parser factory of :mod:`backbones_cli.parsers`, the implementation module)
COMMANDS = {
    "backbones-train": (parsers.train, "backbones.cli.train"),
    "backbones-test": (parsers.test, "backbones.cli.test"),
    "backbones-export": (parsers.export, "backbones.cli.export"),
    "backbones-convert": (parsers.convert, "backbones.cli.convert"),
    "backbones-infer-points": (parsers.infer_points, "backbones.cli.infer_points"),
    "backbones-benchmark": (parsers.benchmark, "backbones.cli.benchmark"),
    "backbones-generate": (parsers.generate, "backbones.cli.generate"),
    "backbones-flops": (parsers.flops, "backbones.cli.flops"),
    "backbones-vis-attention": (parsers.vis_attention, "backbones.cli.vis_attention"),
    "backbones-attention-similarity": (parsers.attention_similarity, "backbones.cli.attention_similarity"),
    "backbones-demo": (parsers.demo, "backbones.cli.demo"),
}


def dispatch(command: str, argv: list[str] | None = None) -> None:
    """Run a console command: parse its flags (answering ``--help`` and usage errors at once), then import and run
    its implementation's ``cli`` with the same arguments."""
    argv = sys.argv[1:] if argv is None else argv
    factory, module = COMMANDS[command]
    factory(prog=command).parse_args(argv)
    sys.argv = [command, *argv]
    importlib.import_module(module).cli()


def entry(command: str) -> Callable[[], None]:
    """The console-script function of ``command`` (``backbones-train`` -> :func:`train`, ...)."""

    def run() -> None:
        dispatch(command)

    run.__name__ = run.__qualname__ = command.removeprefix("backbones-").replace("-", "_")
    run.__doc__ = f"``{command}``: :func:`dispatch`."
    return run


train = entry("backbones-train")
test = entry("backbones-test")
export = entry("backbones-export")
convert = entry("backbones-convert")
infer_points = entry("backbones-infer-points")
benchmark = entry("backbones-benchmark")
generate = entry("backbones-generate")
flops = entry("backbones-flops")
vis_attention = entry("backbones-vis-attention")
attention_similarity = entry("backbones-attention-similarity")
demo = entry("backbones-demo")
