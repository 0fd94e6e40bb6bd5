"""One GAN training iteration of a generation config: its FLOPs, its time, its FLOP rate against this machine's
float32 GEMM rate, and where the time goes.

Usage:
    python lab/tools/gan_step.py CONFIG [--batch 32] [--threads 1] [--iters 12] [--variants]
        [--cfg-options KEY=VALUE ...] [--profile]

The iteration is the model's own ``train_step`` (one discriminator step on the real batch and the fakes, one
generator step, the moving average) on a random uint8 batch with both Adam optimizers of the config. FLOPs:
``torch.utils.flop_counter`` over one iteration (convolutions, matrix products and attention, forward and
backward). Times: the median of ``--iters`` iterations, both wall time and this process's CPU time (on a shared
machine the CPU time is the figure that other processes disturb least). The GEMM rate: a 2048^3 float32
``torch.mm``, timed the same two ways, at the same thread count. ``--variants`` also times the step with the
config's ``channels_last`` off and on (same weights), so the gain of that knob is measured on the spot.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable

import torch

from backbones.utils.machine import cpu_model


def _median(fn: Callable[[], object], iters: int, warmup: int = 2) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn``."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(iters):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def gemm_rate(iters: int = 5, n: int = 2048) -> tuple[float, float]:
    """The float32 GEMM rate (GFLOP/s) of an n^3 ``torch.mm``, by wall and by CPU time."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    wall, cpu = _median(lambda: torch.mm(a, b), iters, 1)
    return 2 * n ** 3 / wall / 1e9, 2 * n ** 3 / cpu / 1e9 * torch.get_num_threads()


def build(cfg, channels_last: bool | None = None):  # noqa: ANN001, ANN201
    """The config's model (channels_last overridden if given) and its ``OptimWrapperDict``."""
    from mmengine.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS

    model_cfg = copy.deepcopy(cfg.model)
    if channels_last is not None:
        model_cfg["channels_last"] = channels_last
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).train()
    wrappers = dict(cfg.optim_wrapper)
    ctor = wrappers.pop("constructor")
    return model, OPTIM_WRAPPER_CONSTRUCTORS.build(dict(type=ctor, optim_wrapper_cfg=wrappers))(model)


def batch(n: int, channels: int, size: int = 32) -> dict:
    """A random uint8 batch with labels 0..9."""
    from mmengine.structures import BaseDataElement

    g = torch.Generator().manual_seed(0)
    return dict(inputs=[torch.randint(0, 256, (channels, size, size), dtype=torch.uint8, generator=g)
                        for _ in range(n)],
                data_samples=[BaseDataElement(gt_label=torch.tensor(i % 10)) for i in range(n)])


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from mmengine.config import Config, DictAction
    from torch.utils.flop_counter import FlopCounterMode

    import backbones  # noqa: F401  (registries)

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iters", type=int, default=12)
    parser.add_argument("--variants", action="store_true", help="also time channels_last off and on")
    parser.add_argument("--profile", action="store_true", help="print the operators by self CPU time")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    data = batch(args.batch, cfg.model.generator.get("out_channels", 3))
    model, wrappers = build(cfg)
    with FlopCounterMode(display=False) as counter:
        model.train_step(data, wrappers)
    flops = counter.get_total_flops()
    g_wall, g_cpu = gemm_rate()
    print(f"CPU {cpu_model()}; {args.threads} thread(s); fp32 GEMM 2048^3: {g_wall:.1f} GFLOP/s (wall), "
          f"{g_cpu:.1f} GFLOP/s (CPU time)")
    print(f"{args.config}: batch {args.batch}, {flops / 1e9:.2f} GFLOP per iteration")
    variants = {"as configured": (model, wrappers)}
    if args.variants:
        variants = {f"channels_last={v}": build(cfg, v) for v in (False, True)}
    for name, (m, w) in variants.items():
        wall, cpu = _median(lambda m=m, w=w: m.train_step(data, w), args.iters)
        rate = flops / cpu / 1e9 * args.threads
        print(f"  {name}: {wall * 1e3:.0f} ms wall, {cpu * 1e3:.0f} ms CPU per iteration; "
              f"{flops / wall / 1e9:.1f} GFLOP/s wall ({flops / wall / 1e9 / g_wall:.0%} of the GEMM rate), "
              f"{rate:.1f} GFLOP/s CPU time ({rate / g_cpu:.0%})")
    if args.profile:
        from torch.profiler import profile

        with profile() as prof:
            for _ in range(5):
                model.train_step(data, wrappers)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
    return 0
