"""The user benchmark: ``backbones-benchmark`` (flags and help: :func:`backbones_cli.parsers.benchmark`). This is the
installed user's benchmark; the project's comparison with the papers' official code, in fresh processes round by
round, is the lab's (``lab/tools/benchmark.py``)."""
from __future__ import annotations

import copy
import functools

import torch
import torch.nn as nn

from backbones.apis.timing import gemm_gflops, median_ms
from backbones.utils.machine import cpu_flags, cpu_model
from backbones_cli import parsers


class _Tensor(nn.Module):
    """A model's tensor forward as a module of its inputs: a preset's backbone and head, or a config's model."""

    def __init__(self, model: nn.Module, head: nn.Module | None = None) -> None:
        super().__init__()
        self.model, self.head = model, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.head is not None:
            return self.head(self.model(x)[-1])
        return self.model(x, mode="tensor")


def build(target: str, img: int) -> nn.Module:
    """The model to time: a preset with a 1000-class head, or a config's model (``*.py``)."""
    if target.endswith(".py"):
        from mmengine.config import Config

        from backbones.engine.runner.config import build_model, resolve_auto_num_classes

        cfg = Config.fromfile(target)
        resolve_auto_num_classes(cfg)
        return _Tensor(build_model(cfg)).eval()
    from backbones.models.vit import MixerViT

    backbone = MixerViT(target, img_size=img)
    return _Tensor(backbone, nn.Linear(backbone.embed_dims, 1000)).eval()


def main(argv: list[str] | None = None) -> int:
    """Print the machine, then each form's time; returns the exit code."""
    parser = parsers.benchmark()
    args = parser.parse_args(argv)
    if args.threads is None:
        args.threads = torch.get_num_threads()
    import backbones  # noqa: F401  (registers the zoo for configs)
    from backbones.deploy import convert_to_deploy
    from backbones.models.flop_count import forward_flops

    torch.set_num_threads(args.threads)
    x = torch.randn(args.batch, 3, args.img, args.img)
    probes = {p: gemm_gflops(precision=p) for p in dict.fromkeys(["fp32", *args.precisions])}
    roofs = {p: rate for p, (rate, _) in probes.items()}
    print(f"CPU {cpu_model()}; flags {' '.join(cpu_flags()) or '-'}; {args.threads} thread(s); GEMM rate: "
          + ", ".join(f"{p} {r:.3g} G{'OP' if p == 'int8' else 'FLOP'}/s ({n}^3)" for p, (r, n) in probes.items()))
    plain = build(args.target, args.img)
    with torch.no_grad():
        flops = forward_flops(plain, x)
        forms = [("plain", "fp32", False)] + [("deploy", p, False) for p in dict.fromkeys(args.precisions)]
        if args.calibrated and "int8" in args.precisions:
            forms.append(("deploy", "int8", True))
        for form, precision, calibrated in forms:
            calibrate = functools.partial(_run_on, x) if calibrated else None
            model = plain if form == "plain" else convert_to_deploy(copy.deepcopy(plain), precision, calibrate)
            med, low, high = median_ms(functools.partial(model, x), args.iters, args.warmup)
            name = form if precision == "fp32" else f"{form} {precision}" + (" calibrated" if calibrated else "")
            print(f"{args.target} {name}: {med:.1f} ms per batch of {args.batch} [{low:.1f}-{high:.1f}], "
                  f"{args.batch / med * 1e3:.1f} images/s, {flops / med / 1e6:.0f} GFLOP/s "
                  f"({flops / med / 1e6 / roofs[precision]:.0%} of the {precision} GEMM rate)")
    return 0


def _run_on(x: torch.Tensor, model: nn.Module) -> None:
    """Calibration on the timed batch: one forward."""
    model(x)


def cli() -> None:
    """The console entry point."""
    raise SystemExit(main())


if __name__ == "__main__":
    cli()
