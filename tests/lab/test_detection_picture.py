"""The detection picture tool's precision / recall count: a detection is a true positive once, for a digit of its
class at IoU >= 0.5, taken by score."""
from __future__ import annotations

import runpy

import numpy as np

from tests.support import ROOT

TOOL = runpy.run_path(str(ROOT / "lab" / "tools" / "detection_picture.py"))


def test_iou_of_boxes() -> None:
    box = np.array([0.0, 0.0, 10.0, 10.0])
    others = np.array([[0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 15.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    np.testing.assert_allclose(TOOL["iou"](box, others), [1.0, 50 / 150, 0.0])


def test_match_counts_each_digit_once_and_needs_its_class() -> None:
    gt_boxes = np.array([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    gt_labels = np.array([3, 7])
    pred = {"bboxes": np.array([[0.0, 0.0, 10.0, 9.0],      # digit 0, right class: hit
                                [0.0, 0.0, 10.0, 10.0],     # digit 0 again: duplicate, a false positive
                                [20.0, 20.0, 30.0, 30.0],   # digit 1, wrong class
                                [21.0, 21.0, 30.0, 30.0]]),  # digit 1, right class, low score
            "labels": np.array([3, 3, 2, 7]), "scores": np.array([0.9, 0.8, 0.7, 0.3])}
    match = TOOL["match"]
    assert match(pred, gt_boxes, gt_labels, 0.5) == (1, 3)
    assert match(pred, gt_boxes, gt_labels, 0.2) == (2, 4)
    assert match(pred, gt_boxes[:0], gt_labels[:0], 0.2) == (0, 4)
