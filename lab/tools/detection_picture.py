"""A trained detector on the digit-detection val set: precision and recall at IoU 0.5 for a few score thresholds,
and a picture of its detections (boxes, class and score; instance masks when the model has them) on the first
images, through mmdet's ``DetInferencer`` as a user would run it.

Usage: python lab/tools/detection_picture.py CONFIG CHECKPOINT OUT.png [--data-root data/digit_detection]
       [--images 8] [--thresholds 0.1 0.2 ... 0.9] [--score-thr T] [--threads 2]

A detection is a true positive when it has the class of a ground-truth digit not yet matched and overlaps it at IoU
>= 0.5 (detections taken by score, highest first). Prints one row per threshold over every val image; the picture
uses ``--score-thr`` (default: the threshold of the best F1) and is written atomically.
"""
import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the checkout: the lab is not installed


def area(boxes: np.ndarray) -> np.ndarray:
    """Areas of (..., 4) xyxy boxes -> (...)."""
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (4,) xyxy box with (K, 4) xyxy boxes -> (K,)."""
    lt, rb = np.maximum(box[:2], boxes[:, :2]), np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    return inter / (area(box) + area(boxes) - inter)


def match(pred: dict, gt_boxes: np.ndarray, gt_labels: np.ndarray, thr: float) -> tuple[int, int]:
    """(true positives, detections) of one image's predictions scoring >= thr, greedy by score."""
    keep = pred["scores"] >= thr
    order = np.argsort(-pred["scores"][keep])
    boxes, labels = pred["bboxes"][keep][order], pred["labels"][keep][order]
    free = np.ones(len(gt_boxes), bool)
    tp = 0
    for box, label in zip(boxes, labels):
        cand = free & (gt_labels == label)
        if cand.any():
            overlaps = np.where(cand, iou(box, gt_boxes), 0.0)
            best = int(overlaps.argmax())
            if overlaps[best] >= 0.5:
                free[best], tp = False, tp + 1
    return tp, len(boxes)


def draw(images: list[np.ndarray], preds: list[dict], classes: list[str], thr: float, out: Path) -> None:
    """A grid of the images with their detections scoring >= thr, written atomically to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(4, len(images))
    rows = -(-len(images) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows), squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax, img, pred in zip(axes.flat, images, preds):
        shown = img.astype(np.float32) / 255
        keep = np.flatnonzero(pred["scores"] >= thr)
        for i in keep:
            if pred.get("masks") is not None:
                m = pred["masks"][i]
                shown[m] = 0.5 * shown[m] + 0.5 * np.array(colours(int(pred["labels"][i]))[:3])
        ax.imshow(shown)
        for i in keep:
            x0, y0, x1, y1 = pred["bboxes"][i]
            c = colours(int(pred["labels"][i]))
            ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color=c, lw=1.5))
            ax.text(x0, y0 - 1, f"{classes[pred['labels'][i]]} {pred['scores'][i]:.2f}", color="white", fontsize=7,
                    bbox=dict(facecolor=c, pad=0.5, lw=0))
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    tmp = out.with_name(out.name + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, out)


def main() -> None:
    """Parse the arguments, run the model on every val image, print the table and draw the picture."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("out", type=Path)
    parser.add_argument("--data-root", type=Path, default=ROOT / "data" / "digit_detection")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    parser.add_argument("--score-thr", type=float, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import mmcv
    import torch
    from mmdet.apis import DetInferencer

    import backbones  # noqa: F401  (registers the zoo's modules)

    torch.set_num_threads(args.threads)
    ann_file = args.data_root / "annotations" / "instances_val.json"
    if not ann_file.is_file():
        sys.exit(f"{ann_file}: not found (python tools/data/prepare_digit_detection.py {args.data_root})")
    coco = json.loads(ann_file.read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    inferencer = DetInferencer(model=args.config, weights=args.checkpoint, device="cpu", show_progress=False)
    classes = list(inferencer.model.dataset_meta["classes"])
    images = sorted(coco["images"], key=lambda im: im["id"])
    boxes: dict[int, list] = {im["id"]: [] for im in images}
    labels: dict[int, list] = {im["id"]: [] for im in images}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        boxes[a["image_id"]].append([x, y, x + w, y + h])
        labels[a["image_id"]].append(classes.index(names[a["category_id"]]))
    gts = [(np.array(boxes[im["id"]], np.float32).reshape(-1, 4), np.array(labels[im["id"]], int)) for im in images]
    preds, pictures = [], []
    for k, im in enumerate(images):
        path = str(args.data_root / "images" / im["file_name"])
        sample = inferencer(path, return_datasamples=True)["predictions"][0].pred_instances
        pred = {key: sample[key].numpy() for key in ("bboxes", "labels", "scores")}
        if "masks" in sample and k < args.images:
            pred["masks"] = sample.masks.numpy().astype(bool)
        preds.append(pred)
        if k < args.images:
            pictures.append(mmcv.imread(path, channel_order="rgb"))
        if (k + 1) % 100 == 0 or k + 1 == len(images):
            print(f"detected {k + 1}/{len(images)} val images", flush=True)
    n_gt = sum(len(gt_labels) for _, gt_labels in gts)
    print(f"{args.config}: {len(images)} val images, {n_gt} digits, IoU 0.5")
    print("| score >= | precision | recall | F1 |\n|---:|---:|---:|---:|")
    best = (-1.0, args.thresholds[0])
    for thr in args.thresholds:
        tp, det = np.sum([match(pred, *gt, thr) for pred, gt in zip(preds, gts)], axis=0)
        p, r = tp / max(det, 1), tp / n_gt
        f1 = 2 * p * r / max(p + r, 1e-9)
        best = max(best, (f1, thr))
        print(f"| {thr:.2f} | {100 * p:.1f}% | {100 * r:.1f}% | {f1:.3f} |")
    thr = best[1] if args.score_thr is None else args.score_thr
    draw(pictures, preds[: args.images], classes, thr, args.out)
    print(f"picture: {args.out} (first {len(pictures)} val images, score >= {thr:.2f})")


if __name__ == "__main__":
    main()
