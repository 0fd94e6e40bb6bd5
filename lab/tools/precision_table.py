"""A trained model's deploy form in every precision: the test metric and the agreement of its predictions with the
float32 deploy form, each precision through ``tools/test.py --deploy --precision P --out`` in its own process.

Usage: python lab/tools/precision_table.py CONFIG CHECKPOINT [CONFIG CHECKPOINT ...]
       [--precisions fp32 bf16 int8 int8-cal8] [--threads 2]

A precision ``int8-calN`` is int8 with activation scales calibrated on N batches of the config's train loader
(``--precision int8 --calibrate N``). Agreement: the share of test samples (classification, point clouds: the
predicted label), pixels / points (segmentation: the predicted map) or generated pixel values (generation: the
uint8 samples) whose prediction equals float32's. Prints one row per model and precision, with
the CPU and its flags (the docs/benchmark.md "Reduced precision" accuracy table).
"""
import argparse
import os
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the checkout: the lab is not installed
METRICS = ("accuracy/top1", "mIoU", "point/OA", "point/mIoU", "point/instance_mIoU", "gen/fd")


def predictions(samples: list[dict]) -> list:
    """Each sample's prediction: its label or its map, as a flat list of ints."""
    out = []
    for s in samples:
        for key in ("pred_label", "pred_sem_seg", "pred_part", "pred_labels", "fake_img"):
            if key in s:
                value = s[key]
                value = value.get("data", value) if isinstance(value, dict) else value
                out.append(value.reshape(-1).tolist() if hasattr(value, "reshape") else [int(value)])
                break
        else:
            raise KeyError(f"no prediction among the keys {sorted(s)}")
    return out


def agreement(a: list, b: list) -> float:
    """Share of entries (labels, pixels, points) equal in two prediction lists."""
    same = total = 0
    for x, y in zip(a, b):
        same += sum(int(u == v) for u, v in zip(x, y))
        total += len(x)
    return same / total


def main(argv: list[str] | None = None) -> int:
    """Print the table; returns the exit code."""
    from backbones.utils.machine import cpu_flags, cpu_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pairs", nargs="+", help="CONFIG CHECKPOINT pairs")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16", "int8"],
                        help="fp32 (first: the reference), bf16, int8, int8-calN (calibrated on N train batches)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if len(args.pairs) % 2 or args.precisions[0] != "fp32":
        parser.error("give CONFIG CHECKPOINT pairs, and fp32 first among --precisions (the reference)")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    print(f"CPU {cpu_model()}; flags {' '.join(cpu_flags()) or '-'}; {args.threads} thread(s)")
    print("| config | precision | metric | value | change | agreement with fp32 |\n|---|---|---|---:|---:|---:|")
    for config, ckpt in zip(args.pairs[::2], args.pairs[1::2]):
        base, ref = None, None
        for precision in args.precisions:
            flags = ["--precision", precision]
            if re.fullmatch(r"int8-cal\d+", precision):
                flags = ["--precision", "int8", "--calibrate", precision[len("int8-cal"):]]
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "pred.pkl"
                proc = subprocess.run([sys.executable, "tools/test.py", config, ckpt, "--deploy", *flags, "--out",
                                       str(out), "--work-dir", tmp], cwd=ROOT, env=env, capture_output=True, text=True)
                if proc.returncode:
                    print(proc.stderr[-3000:], file=sys.stderr)
                    return 1
                with open(out, "rb") as f:  # our own test tool's dump, written a moment ago
                    preds = predictions(pickle.load(f))
            text = proc.stdout + proc.stderr
            name, value = next((m, float(re.findall(rf"{re.escape(m)}: ([0-9.]+)", text)[-1])) for m in METRICS
                               if re.search(rf"{re.escape(m)}: [0-9.]+", text))
            if precision == "fp32":
                base, ref = value, preds
            print(f"| {Path(config).stem} | {precision} | {name} | {value:.2f} | {value - base:+.2f} | "
                  f"{100 * agreement(ref, preds):.2f}% |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
