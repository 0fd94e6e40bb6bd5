"""Parameters and FLOPs of a config's model (or of every preset) at an input shape.

Usage:
    python tools/analysis/get_flops.py CONFIG [--shape 224 224] [--deploy]
    python tools/analysis/get_flops.py --presets [--shape 224 224] [--deploy]

FLOPs count 2 per multiply-add (torch.utils.flop_counter) for one image; papers usually quote
multiply-adds ("FLOPs" = MACs), i.e. half of this figure, listed as GMACs. The count is of the plain
model (the papers' equations); ``--deploy`` counts the converted model (``backbones.deploy``), where
EA's memories are folded into its projections.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from backbones.apis.loading import load_model


def flops_of(model: torch.nn.Module, shape: tuple[int, int], forward=None) -> int:  # noqa: ANN001
    """FLOPs (2 per multiply-add) of one forward at (1, 3, H, W) (:func:`backbones.models.flop_count.forward_flops`)."""
    from backbones.models.flop_count import forward_flops

    return forward_flops(forward or model, torch.randn(1, 3, *shape))


def main(argv: list[str] | None = None) -> list[dict]:
    """Command-line entry point; returns the rows."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?")
    parser.add_argument("--presets", action="store_true", help="every preset with a 1000-class head")
    parser.add_argument("--shape", type=int, nargs=2, default=(224, 224))
    parser.add_argument("--deploy", action="store_true", help="count the deploy form (convert_to_deploy)")
    args = parser.parse_args(argv)
    from backbones.deploy import convert_to_deploy

    deploy = convert_to_deploy if args.deploy else (lambda m: m.eval())
    rows = []
    if args.presets:
        from backbones import PRESETS, MixerViT

        for name in PRESETS:
            bb = MixerViT(name, img_size=tuple(args.shape))
            head = torch.nn.Linear(bb.embed_dims, 1000)
            params = sum(p.numel() for m in (bb, head) for p in m.parameters())  # of the trainable model
            deploy(bb)
            fl = flops_of(bb, args.shape, lambda x, bb=bb, head=head: head(bb(x)[-1]))
            rows.append(dict(model=name, params=params, gflops=fl / 1e9))
    elif args.config:
        _, model = load_model(args.config, None)
        params = sum(p.numel() for p in model.parameters())
        deploy(model)
        fl = flops_of(model, args.shape, lambda x: model(x, mode="tensor"))
        rows.append(dict(model=Path(args.config).stem, params=params, gflops=fl / 1e9))
    else:
        parser.error("give a CONFIG or --presets")
    form = "deploy form" if args.deploy else "plain model"
    print(f"input {args.shape[0]}x{args.shape[1]}, {form}\n| model | params | GFLOPs | GMACs |\n|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['params']:,} | {r['gflops']:.2f} | {r['gflops'] / 2:.2f} |")
    return rows


if __name__ == "__main__":
    main()
