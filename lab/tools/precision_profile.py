"""Where the time of a preset's deploy form goes in each precision: torch.profiler's operators by self CPU time, with
the CPU and its flags (the profile behind docs/benchmark.md's reduced-precision speed figures).

Usage: python lab/tools/precision_profile.py PRESET [--precisions fp32 bf16 int8] [--batch 4] [--img 224]
       [--threads 1] [--top 6]

Each precision: ``convert_to_deploy(MixerViT(PRESET), precision)``, one warm-up batch, one profiled batch; printed:
the total and the ``--top`` operators' self time, share and calls. The process runs with the run setup's allocator
(``backbones.utils.allocator``; it restarts itself with it unless the environment chooses one), as the benchmark's
processes do: with glibc's defaults, page faults on fresh buffers land in whichever operator touches them first.
The share of the products (``addmm``, ``mm``, ``bmm``, ``matmul``, quantized linears, convolutions, fused attention)
bounds what a faster product can gain (Amdahl).
"""
import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: the lab is not installed

#: operators that are products with weights or between activations (what int8 / bf16 instructions speed up)
PRODUCTS = ("addmm", "mm", "bmm", "matmul", "linear_dynamic", "quantized::linear", "conv", "scaled_dot_product")


def profile_form(preset: str, precision: str, batch: int, img: int) -> tuple[float, list[tuple[str, float, int]]]:
    """Total self CPU ms of one batch and (operator, self ms, calls), slowest first."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from backbones.deploy import convert_to_deploy
    from backbones.models.vit import MixerViT

    torch.manual_seed(0)
    model = convert_to_deploy(MixerViT(preset, img_size=img).eval(), precision)
    x = torch.randn(batch, 3, img, img)
    with torch.no_grad():
        model(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            model(x)
    ops = sorted(((e.key, e.self_cpu_time_total / 1000, e.count) for e in prof.key_averages()),
                 key=lambda r: -r[1])
    return sum(ms for _, ms, _ in ops), ops


def main(argv: list[str] | None = None) -> int:
    """Print each precision's profile; returns the exit code."""
    from backbones.utils.allocator import active_allocator, run_setup_env

    env = run_setup_env()
    if env != dict(os.environ):  # the run setup's allocator needs a process started with it
        os.execve(sys.executable, [sys.executable, __file__, *(sys.argv[1:] if argv is None else argv)], env)
    import torch

    from backbones.utils.machine import cpu_flags, cpu_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16", "int8"], choices=("fp32", "bf16", "int8"))
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--img", type=int, default=224)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--top", type=int, default=6)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"CPU {cpu_model()}; flags {' '.join(cpu_flags()) or '-'}; {args.threads} thread(s); allocator "
          f"{active_allocator()}; {args.preset} deploy form, batch {args.batch} at {args.img} px")
    for precision in args.precisions:
        total, ops = profile_form(args.preset, precision, args.batch, args.img)
        products = sum(ms for name, ms, _ in ops if any(k in name for k in PRODUCTS))
        print(f"{precision}: {total:.1f} ms self CPU; products {products:.1f} ms ({products / total:.0%})")
        for name, ms, calls in ops[:args.top]:
            print(f"  {name:<52} {ms:9.1f} ms {ms / total:6.1%} {calls:5d} calls")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
