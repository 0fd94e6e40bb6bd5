"""The flags of every tool: one parser factory per command, importing only argparse (and mmengine's light
``DictAction`` when a parser is built). ``prog`` is the name the usage line shows (the console command; by default
the script's name, as argparse does).

A few lists of names are spelled here rather than imported from the library, which this package must not import:
the precisions (``backbones.deploy.precision.PRECISIONS``), the export formats (``backbones.deploy.export.FORMATS``)
and the checkpoint formats (``backbones.converters.FORMATS``); tests/unit/cli/test_console.py checks that they agree.
"""
from __future__ import annotations

import argparse

#: the deploy form's precisions (``backbones.deploy.precision.PRECISIONS``).
PRECISIONS = ("fp32", "bf16", "int8")
#: the export tool's file formats (``backbones.deploy.export.FORMATS``).
EXPORT_FORMATS = ("exported", "onnx", "torchscript")
#: the official checkpoint layouts the converter reads (``backbones.converters.FORMATS``).
CHECKPOINT_FORMATS = ("deepvit", "eamlp", "eanet", "ff", "timm")
#: the tasks every config of the zoo belongs to.
TASKS = "image classification, semantic segmentation, point clouds (classification, part segmentation) and " \
        "image generation"

TRAIN = f"""Train any config of the zoo ({TASKS}) with mmengine's Runner.

``--resume`` alone resumes from the checkpoint ``last_checkpoint`` of the work dir names; if that file is missing,
empty, or names a missing or corrupt checkpoint, from the newest complete ``epoch_N.pth`` / ``iter_N.pth`` there
(with a warning). With a path, from that file. Checkpoints are read with torch's weights-only unpickler: a file that
needs code to load is refused. ``load_from`` must fill at least half of the model's keys (else an error names the
file and the keys); ``--allow-partial`` accepts any share; the load is logged in one line (tensors loaded, resized,
left at init, unexpected). Data whose class count is not the model's is refused before training. One run per work
dir: the run holds the work dir's lock, and a second training on the same folder is refused naming the folder and the
holder's pid. ``--input-size N`` trains an image config at N x N (pipeline and model together). ``--amp`` is fp16 AMP
on a GPU and bfloat16 autocast on the CPU. Several processes: tools/dist_train.sh.
"""

TEST = f"""Evaluate a checkpoint on a config's test set ({TASKS}) with mmengine's Runner.

The checkpoint is read with torch's weights-only unpickler (a file that needs code to load is refused) and loaded
strictly: a checkpoint whose keys are missing from, unknown to or shaped differently from the config's model (another
architecture) is an error naming those keys. ``--allow-partial`` loads the matching keys only and warns about the
others (mmengine's default). ``--deploy`` tests the model in its deploy form (``DeployHook``:
``backbones.deploy.convert_to_deploy`` after the checkpoint is loaded); ``--compile`` also compiles it with
``torch.compile`` (the first batch compiles, its time is logged), ``--autotune`` with inductor's GEMM templates as
well. ``--precision bf16|int8`` tests the deploy form in that precision; with int8, activations are quantized per
call (results depend slightly on the batch), or with ``--calibrate N`` on scales fixed on N batches of the train
(or ``--calibrate-from val``) loader (batch-independent; at most the loader's length, and the log says how many).
A test set whose class count is not the model's, and a checkpoint holding NaN or infinite weights, are refused
(naming the folder and counts, or the checkpoint and the first bad tensor). ``--input-size N`` tests an image config
at N x N.
"""

EXPORT = """Export a config's model with a checkpoint to ONNX, TorchScript or ``torch.export``, and check the file.

Every task exports: classification and point-cloud classification take the preprocessed batch and give logits;
segmentation gives logits or labels (``--output``) at the input size, as ``mmseg.apis.inference_model`` does; part
segmentation takes the points and each cloud's object category and gives part logits; a GAN config exports its
sampler (noise, label) -> images. The batch axis is dynamic, and so is a segmentation model's image size where
torch.export proves the network runs at any size; the tool prints the dynamic axes the file holds and runs the file
at another size on them. ``--deploy`` exports the converted model. The file is traced on ``--batch`` samples of the
config's test set (or ``--input IMAGE`` repeated) and run back (ONNX through onnxruntime) at that batch size and one
more; the max absolute and relative differences against the eager model are printed. Exit code 1 when a relative
difference exceeds ``--tolerance``, or when the file cannot be written (the error names the file; no partial file
is left). ``--precision int8`` (ONNX): the float32 file quantized by onnxruntime's dynamic quantizer (int8 weights
per output channel, activations per batch: results depend slightly on the batch); with ``--calibrate N``, its
static quantizer instead (QDQ, activation scales calibrated on N batches of the config's train set, or its val set
with ``--calibrate-from val``: batch-independent). ``--precision bf16`` (TorchScript and ``torch.export``) exports
the deploy form in bfloat16. Both compare with the float32 eager model (default tolerance 0.1).
"""

CONVERT = """Convert an official checkpoint into this zoo's layout (mmpretrain ``ImageClassifier``; EANet: mmseg
``EncoderDecoder``), written atomically; a DST ending in ``.safetensors`` is written in that format.

FORMAT is the official layout. The preset is detected from the keys and shapes (or forced with ``--arch``); the
output loads with ``strict=True`` into the model of the preset's config (see model-index.yml). SRC (a ``.pth`` or a
``.safetensors`` file) is read with torch's weights-only unpickler, which also allows the one Python type official
training checkpoints pickle beside their tensors (``argparse.Namespace``). A file that needs anything else is
refused, naming the file and the global. ``--unsafe-full-unpickle`` unpickles such a file completely: a crafted file
then runs arbitrary code on this machine.
"""

INFER_POINTS = """Classify or part-segment point / mesh files (.txt, .npy, .ply, .pcd, .xyz, .off, .obj, ...).

Prints one line per file (class and score, or the number of points per predicted part); with ``--show-dir`` writes a
PNG per file (points coloured by predicted part). Text and ``.npy`` files hold 3 (x y z), 6 (x y z nx ny nz) or 7
(... part label, ignored here) columns; any other count, an empty or degenerate cloud is an error naming the file.
The checkpoint is loaded safely (weights only) and strictly (``--allow-partial`` loads the matching keys only).
``--deploy`` predicts with the model converted for deployment.
"""

BENCHMARK = """Time a model of the zoo on this machine: median milliseconds per batch of the plain and the deploy form
(in each ``--precisions``), images per second and the share of the GEMM rate of that precision it reaches, with the
CPU, its flags (avx512_bf16, avx512_vnni and amx decide what bf16 and int8 gain) and the thread count.

A preset (``vit-tiny``) is timed as its backbone with a 1000-class head; an image config (classification,
segmentation) as its model's tensor forward. ``--calibrated`` adds the int8 form with activation scales calibrated on
the timed batch (static int8) beside the dynamic one.
"""


GENERATE = """Write a grid of class-conditional samples of a trained generation config as a PNG file.

Without ``--label`` the grid has one row per class, N samples each; with it, one row of N samples of class K. Column j
draws its noise from ``(seed, j)`` (the same noise in every row). The samples come from the generator's moving
average when the model keeps one, ``--batch`` at a time (the grid does not depend on it). The checkpoint is loaded
strictly with the zoo's safe loader (mis-shaped, missing or unknown keys are an error naming them; NaN or infinite
weights are refused naming the tensor); the PNG is written atomically (temporary file, then rename).
"""


def _parser(prog: str | None, description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=prog, description=description,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_calibration_args(parser: argparse.ArgumentParser, what: str) -> None:
    """``--calibrate N`` (0: activations quantized at run time) and ``--calibrate-from {train,val}``, the flags of
    calibrated int8 shared by the test and export tools; ``what`` says what N batches give."""
    parser.add_argument("--calibrate", type=int, default=0, metavar="N",
                        help=f"with --precision int8: {what} on N batches of the config's train set "
                             f"(--calibrate-from val: its val set); default 0: activations quantized at run time")
    parser.add_argument("--calibrate-from", choices=("train", "val"), default="train",
                        help="the set --calibrate reads (default train)")


def _runner_args(parser: argparse.ArgumentParser) -> None:
    from mmengine.config import DictAction

    parser.add_argument("--work-dir", help="folder for logs and checkpoints")
    parser.add_argument("--input-size", type=int, metavar="N",
                        help="an image config at N x N: every resize / crop of its pipelines and the model's "
                             "img_size together (backbones.engine.runner.config.set_input_size)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys: key=value")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)


def train(prog: str | None = None) -> argparse.ArgumentParser:
    """The train tool's flags (OpenMMLab's, plus ``--amp``, ``--allow-partial``, ``--input-size``)."""
    parser = _parser(prog, TRAIN)
    parser.add_argument("config", help="config file")
    parser.add_argument("--resume", nargs="?", type=str, const="auto",
                        help="resume from CHECKPOINT, or from the latest one in the work dir if none is given")
    parser.add_argument("--amp", action="store_true", help="mixed precision (bfloat16 autocast on CPU)")
    parser.add_argument("--allow-partial", action="store_true",
                        help="let load_from fill any share of the model's keys (default: a checkpoint filling "
                             "fewer than half of them is refused, naming the missing and unexpected keys)")
    _runner_args(parser)
    return parser


def test(prog: str | None = None) -> argparse.ArgumentParser:
    """The test tool's flags (OpenMMLab's, plus the deploy form's and ``--input-size``)."""
    parser = _parser(prog, TEST)
    parser.add_argument("config", help="config file")
    parser.add_argument("checkpoint", help="checkpoint file (.pth, or .safetensors)")
    parser.add_argument("--out", help="dump the predictions to this file (.pkl or .json)")
    parser.add_argument("--show-dir", help="write visualised predictions (PNG) to this folder")
    parser.add_argument("--allow-partial", action="store_true",
                        help="load only the checkpoint keys that match the model (default: any missing, unknown or "
                             "mis-shaped key is an error)")
    parser.add_argument("--deploy", action="store_true",
                        help="test the model converted for deployment (backbones.deploy.convert_to_deploy, after "
                             "the checkpoint is loaded)")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32",
                        help="with --deploy: the deploy form in bfloat16, or with int8 Linears (activations "
                             "quantized per call unless --calibrate); default fp32")
    add_calibration_args(parser, "int8 activation scales calibrated")
    parser.add_argument("--compile", action="store_true",
                        help="test the deploy form compiled with torch.compile (the first batch compiles and its "
                             "time is logged)")
    parser.add_argument("--autotune", action="store_true",
                        help="with --compile: also try inductor's GEMM templates (much longer compilation)")
    _runner_args(parser)
    return parser


def export(prog: str | None = None) -> argparse.ArgumentParser:
    """The export tool's flags."""
    parser = _parser(prog, EXPORT)
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    parser.add_argument("--deploy", action="store_true", help="export the converted (deploy) model")
    parser.add_argument("--out", help="output file (default: next to the checkpoint)")
    parser.add_argument("--input", help="an image to check the file on (default: the config's test set)")
    parser.add_argument("--batch", type=int, default=2, help="batch size of the trace; checked there and one more")
    parser.add_argument("--output", default="logits", choices=("logits", "labels"), help="segmentation output")
    parser.add_argument("--precision", default="fp32", choices=PRECISIONS,
                        help="int8: ONNX quantized by onnxruntime (dynamic, per-channel int8 weights); bf16: the "
                             "deploy form in bfloat16 (torchscript, exported)")
    add_calibration_args(parser, "onnxruntime's static quantizer (QDQ), activation scales calibrated")
    parser.add_argument("--tolerance", type=float, default=None,
                        help="largest accepted relative difference (default 1e-4; 0.1 with --precision int8)")
    return parser


def convert(prog: str | None = None) -> argparse.ArgumentParser:
    """The checkpoint converter's flags."""
    parser = _parser(prog, CONVERT)
    parser.add_argument("format", choices=CHECKPOINT_FORMATS, help="layout of SRC")
    parser.add_argument("src", help="official checkpoint file (.pth or .safetensors)")
    parser.add_argument("dst", help="output checkpoint file (.pth, or .safetensors for that format)")
    parser.add_argument("--arch", default=None, help="force this preset instead of detecting it (MixerViT formats)")
    parser.add_argument("--unsafe-full-unpickle", action="store_true",
                        help="RISK: unpickle SRC completely (torch.load weights_only=False). A crafted checkpoint "
                             "then runs arbitrary code with your permissions. Only for a file from a source you "
                             "trust that the safe loader refused")
    return parser


def infer_points(prog: str | None = None) -> argparse.ArgumentParser:
    """The point-file inference tool's flags."""
    parser = _parser(prog, INFER_POINTS)
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--category", help="object category (part segmentation): name or index")
    parser.add_argument("--show-dir", help="write a PNG rendering per file here")
    parser.add_argument("--allow-partial", action="store_true",
                        help="load only the checkpoint keys that match the model (default: a mismatch is an error)")
    parser.add_argument("--deploy", action="store_true", help="predict with the model converted for deployment")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32",
                        help="with --deploy: the deploy form's precision")
    return parser


def benchmark(prog: str | None = None) -> argparse.ArgumentParser:
    """The user benchmark's flags (``--threads`` defaults to torch's thread count, read when it runs)."""
    parser = _parser(prog, BENCHMARK)
    parser.add_argument("target", help="a preset name (vit-tiny, eamlp-7, ...) or an image config file")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--img", type=int, default=224, help="input size (a config's model: its own size)")
    parser.add_argument("--threads", type=int, default=None, help="threads (default: torch's default)")
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--precisions", nargs="+", default=["fp32"], choices=PRECISIONS,
                        help="precisions of the deploy form to time (default fp32)")
    parser.add_argument("--calibrated", action="store_true",
                        help="with int8 in --precisions: also time the int8 form with calibrated activation scales")
    return parser


def generate(prog: str | None = None) -> argparse.ArgumentParser:
    """The sample-grid tool's flags."""
    from mmengine.config import DictAction

    parser = _parser(prog, GENERATE)
    parser.add_argument("config", help="generation config file")
    parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument("--num", type=int, default=8, help="samples per row (default 8)")
    parser.add_argument("--label", type=int, help="one row of this class (default: one row per class)")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--batch", type=int, default=256, help="samples generated at a time (default 256)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys: key=value")
    return parser


FLOPS = """Parameters and FLOPs of a config's model (or of every preset) at an input shape.

FLOPs count 2 per multiply-add (torch.utils.flop_counter) for one image; papers usually quote multiply-adds
("FLOPs" = MACs), i.e. half of this figure, listed as GMACs. The count is of the plain model (the papers'
equations); ``--deploy`` counts the converted model (backbones.deploy), where EA's memories are folded into its
projections.
"""

VIS_ATTENTION = """Overlay a trained model's attention on an input image (PNG).

For self-attention and Re-attention: the class token's attention to the patches in ``--block``, averaged over heads.
For External attention: the class token's row of the token affinity A A^T that the memory induces
(backbones.analysis.attention). The map is shown beside the image, upsampled over it.
"""

ATTENTION_SIMILARITY = """DeepViT's attention-collapse measure for a trained model: block-to-block attention similarity.

Runs ``--images`` images of the config's test set (evenly spaced over it), records every block's attention map
(self-attention, Re-attention) or memory map (External attention, compared through the token affinities A A^T it
induces; backbones.analysis.attention, DeepViT's Eq. 3), prints the similarity of each block to the next, the number
of "similar blocks" (similarity above the threshold) and the cross-head similarity inside each block, and writes a
heat map (and, with ``--json``, the figures: ``adjacent``, ``similar_blocks``, ``matrix``, ``head_similarity``,
``images``, ``threshold``). For Re-attention, whose maps are re-generated (heads mixed, BatchNorm: signed and
centred) before they weight the values, the same figures of its softmax maps are added under ``before_transform``.
"""

DEMO = """Build every preset of the zoo, print its parameter count against the official one and check a forward pass.

Exit code 1 if any preset's parameter count differs from the official count or its output is not finite.
"""


def flops(prog: str | None = None) -> argparse.ArgumentParser:
    """The FLOP counter's flags."""
    parser = _parser(prog, FLOPS)
    parser.add_argument("config", nargs="?", help="a config file (or --presets)")
    parser.add_argument("--presets", action="store_true", help="every preset with a 1000-class head")
    parser.add_argument("--shape", type=int, nargs=2, default=(224, 224), metavar=("H", "W"))
    parser.add_argument("--deploy", action="store_true", help="count the deploy form (convert_to_deploy)")
    return parser


def vis_attention(prog: str | None = None) -> argparse.ArgumentParser:
    """The attention overlay's flags."""
    parser = _parser(prog, VIS_ATTENTION)
    parser.add_argument("config", help="image classification config file")
    parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument("image", help="image file")
    parser.add_argument("--block", type=int, default=-1, help="the block whose map is shown (default: the last)")
    parser.add_argument("--out", default="attention.png", help="PNG file to write (default attention.png)")
    return parser


def attention_similarity(prog: str | None = None) -> argparse.ArgumentParser:
    """The attention-collapse measure's flags."""
    parser = _parser(prog, ATTENTION_SIMILARITY)
    parser.add_argument("config", help="image classification config file")
    parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument("--images", type=int, default=32, help="test images measured (default 32)")
    parser.add_argument("--threshold", type=float, default=0.9, help="'similar' above this (default 0.9)")
    parser.add_argument("--out", default="attention_similarity.png", help="heat map PNG")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    return parser


def demo(prog: str | None = None) -> argparse.ArgumentParser:
    """The preset check's flags (``--presets`` is checked against the library's table when the command runs)."""
    parser = _parser(prog, DEMO)
    parser.add_argument("--img-size", type=int, default=224)
    parser.add_argument("--presets", nargs="*", default=None, metavar="PRESET", help="default: every preset")
    return parser
