"""Classification ONNX files of one config side by side under onnxruntime: top-1 on the config's test set, agreement
of the predictions with the first file, and the median time of a batch (the files alternating, after warm-ups).

Usage: python lab/tools/compare_onnx.py CONFIG FILE.onnx [FILE.onnx ...] [--batch 64] [--runs 30] [--threads 2]
(the figures of docs/benchmark.md's int8 table: the float32 and the int8 file of the main digits model).
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: the lab is not installed


def main(argv: list[str] | None = None) -> int:
    """Print each file's top-1, agreement and median batch time; returns the exit code."""
    import numpy as np
    import onnxruntime as ort
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DATASETS, DefaultScope

    from backbones.apis.exporting import example_inputs, export_spec
    from backbones.apis.loading import load_model
    from backbones.utils.machine import cpu_flags, cpu_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    cfg, model = load_model(args.config, None)
    with DefaultScope.overwrite_default_scope(cfg.get("default_scope")):
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
        batch = pseudo_collate([dataset[i] for i in range(len(dataset))])  # the whole test set
    x = example_inputs(export_spec(model, dict(dataset.metainfo)), batch, model)[0].numpy()
    labels = np.array([int(s.gt_label) for s in batch["data_samples"]])
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    sessions = [ort.InferenceSession(f, options, providers=["CPUExecutionProvider"]) for f in args.files]
    preds = [s.run(None, {"inputs": x})[0].argmax(-1) for s in sessions]
    times: list[list[float]] = [[] for _ in sessions]
    chunk = x[:args.batch]
    for _ in range(5):
        for s in sessions:
            s.run(None, {"inputs": chunk})
    for _ in range(args.runs):
        for s, t in zip(sessions, times):
            start = time.perf_counter()
            s.run(None, {"inputs": chunk})
            t.append(time.perf_counter() - start)
    print(f"CPU {cpu_model()}; flags {' '.join(cpu_flags()) or '-'}; {args.threads} thread(s); {len(labels)} images")
    for f, p, t in zip(args.files, preds, times):
        print(f"{f}: top-1 {100 * (p == labels).mean():.2f}%, agreement with {Path(args.files[0]).name} "
              f"{100 * (p == preds[0]).mean():.2f}%, median {1e3 * statistics.median(t):.2f} ms per batch of "
              f"{len(chunk)} [{1e3 * min(t):.2f}-{1e3 * max(t):.2f}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
