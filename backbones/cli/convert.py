"""Convert an official checkpoint into this zoo's mmpretrain ``ImageClassifier`` layout.

Usage:
    python tools/convert_checkpoint.py FORMAT SRC DST [--arch PRESET]

FORMAT is one of ``timm``, ``ff``, ``deepvit``, ``eamlp``. The preset is detected from the keys and
shapes (or forced with ``--arch``); the output loads with ``strict=True`` into the model of the
preset's config (see model-index.yml) and is written atomically. FORMAT ``eanet`` converts EANet's
segmentation checkpoint (``{'net', 'step'}``) into the mmseg ``EncoderDecoder`` of
``configs/segmentation/voc12aug/eanet_r101-d8_4xb4-45k_voc12aug-513x513.py`` (every key but the
auxiliary head's, which the official model lacks).

SRC is read with torch's weights-only unpickler, which also allows the one Python type official training
checkpoints pickle beside their tensors (``argparse.Namespace``, their training arguments). A file that
needs anything else (a class or function: code) is refused, naming the file and the global.
``--unsafe-full-unpickle`` unpickles such a file completely: a crafted file then runs arbitrary code on
this machine.
"""
from __future__ import annotations

import argparse
import sys

from backbones.converters import FORMATS, ConversionError, convert_checkpoint
from backbones.models.presets import PRESETS


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("format", choices=sorted(FORMATS), help="layout of SRC")
    parser.add_argument("src", help="official checkpoint file")
    parser.add_argument("dst", help="output checkpoint file")
    parser.add_argument("--arch", default=None, help="force this preset instead of detecting it (MixerViT formats)")
    parser.add_argument("--unsafe-full-unpickle", action="store_true",
                        help="RISK: unpickle SRC completely (torch.load weights_only=False). A crafted checkpoint "
                             "then runs arbitrary code with your permissions. Only for a file from a source you "
                             "trust that the safe loader refused")
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
