"""Build every preset of the zoo, print its parameter count against the official one and check a forward pass.

Usage:
    python tools/demo.py [--img-size 224] [--presets vit-tiny ff-tiny ...]

Exit code 1 if any preset's parameter count differs from the official count or its output is not finite.
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

from backbones import PRESETS, MixerViT


def check_preset(arch: str, img_size: int) -> tuple[int, float, bool]:
    """Build ``arch`` with a 1000-class head; return (parameters, forward seconds, output finite)."""
    torch.manual_seed(0)
    backbone = MixerViT(arch, img_size=img_size).eval()
    head = torch.nn.Linear(backbone.embed_dims, 1000)
    params = sum(p.numel() for p in backbone.parameters()) + sum(p.numel() for p in head.parameters())
    x = torch.randn(2, 3, img_size, img_size)
    start = time.perf_counter()
    with torch.inference_mode():
        logits = head(backbone(x)[-1])
    seconds = time.perf_counter() - start
    return params, seconds, bool(torch.isfinite(logits).all()) and logits.shape == (2, 1000)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--img-size", type=int, default=224)
    parser.add_argument("--presets", nargs="*", default=list(PRESETS), choices=list(PRESETS))
    args = parser.parse_args(argv)
    print(f"{'preset':<13} {'mixer':<26} {'params':>12} {'official':>12}  {'forward (2 imgs)':>16}  check")
    ok = True
    for arch in args.presets:
        params, seconds, finite = check_preset(arch, args.img_size)
        mixer = PRESETS[arch]["mixer"]
        names = sorted({m["type"] for m in (mixer if isinstance(mixer, list) else [mixer])})
        good = finite and params == PRESETS[arch]["params"]
        ok &= good
        print(f"{arch:<13} {'+'.join(names):<26} {params:>12,} {PRESETS[arch]['params']:>12,}  {seconds:>14.3f} s  "
              f"{'ok' if good else 'FAIL'}")
    print("all presets match the official parameter counts and run" if ok else "SOME PRESETS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
