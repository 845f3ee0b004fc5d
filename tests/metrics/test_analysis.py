"""Confusion matrix, recall at N proposals and the recall breakdown on hand-made cases."""
from __future__ import annotations

import math

import numpy as np
import pytest

from yolo9000.metrics.analysis import best_iou_per_truth, confusion_matrix, recall_at_proposals, recall_breakdown
from yolo9000.metrics.structures import DetectionSet, GroundTruth


def gt_two_images() -> GroundTruth:
    # image 0: a cat (class 0) and a dog (class 1); image 1: a dog, and a difficult cat
    boxes = np.array([[0, 0, 10, 10], [20, 20, 10, 10], [0, 0, 20, 20], [50, 50, 5, 5]], float)
    return GroundTruth((1, 2), ("a.jpg", "b.jpg"), (0, 1), ("cat", "dog"), np.array([0, 0, 1, 1]),
                       np.array([0, 1, 1, 0]), boxes, boxes[:, 2] * boxes[:, 3], np.array([0, 0, 0, 1], bool),
                       np.zeros(4, bool))


def dets(rows: list[tuple[int, int, list[float], float]]) -> DetectionSet:
    return DetectionSet(np.array([r[0] for r in rows], np.int64), np.array([r[1] for r in rows], np.int64),
                        np.array([r[2] for r in rows], float).reshape(-1, 4), np.array([r[3] for r in rows], float))


def test_confusion_matrix_counts() -> None:
    gt = gt_two_images()
    d = dets([(0, 0, [0, 0, 10, 10], 0.9),      # cat on cat: correct
              (0, 0, [20, 20, 10, 10], 0.8),    # cat on the dog: confusion
              (1, 1, [0, 0, 20, 20], 0.2),      # below conf 0.25: ignored -> dog missed
              (1, 0, [100, 100, 5, 5], 0.7)])   # nothing there: background
    m = confusion_matrix(gt, d, conf=0.25)
    expect = np.zeros((3, 3), np.int64)
    expect[0, 0] = 1   # cat predicted, cat true
    expect[0, 1] = 1   # cat predicted, dog true
    expect[0, 2] = 1   # cat predicted, background
    expect[2, 1] = 1   # dog in image 1 missed (the difficult cat is left out)
    assert np.array_equal(m, expect)


def test_one_detection_matches_one_box() -> None:
    gt = gt_two_images()
    d = dets([(0, 0, [0, 0, 10, 10], 0.9), (0, 0, [0, 0, 10, 10], 0.8)])
    m = confusion_matrix(gt, d)
    assert m[0, 0] == 1 and m[0, 2] == 1 and m[2, 1] == 2


def test_recall_at_proposals() -> None:
    gt = gt_two_images()
    d = dets([(0, 0, [90, 90, 5, 5], 0.99),     # rank 0 in image 0: misses everything
              (0, 1, [20, 20, 10, 10], 0.5),    # rank 1: finds the dog (class ignored)
              (1, 0, [0, 0, 20, 20], 0.4)])     # rank 0 in image 1: finds the dog
    counts, recall = recall_at_proposals(gt, d, counts=np.array([1, 2, 3]))
    assert counts.tolist() == [1, 2, 3]
    assert np.allclose(recall, [1 / 3, 2 / 3, 2 / 3])   # 3 non-difficult boxes; the cat is never found


def test_best_iou_and_recall_by_class_and_size() -> None:
    """Image 0 (100 px) holds a cat and a dog of 10 px (1/10 of the side), image 1 (400 px) a dog of 20 px
    (1/20) and a difficult cat, which is left out."""
    gt = gt_two_images()
    d = dets([(0, 0, [0, 0, 10, 10], 0.9),      # the cat, exactly
              (0, 0, [20, 20, 10, 10], 0.8),    # a cat on the dog: no hit for the dog when classes must agree
              (0, 1, [25, 20, 10, 10], 0.6),    # the dog, half off: IoU 50 / 150
              (1, 1, [0, 0, 20, 10], 0.4)])     # the small dog, half: IoU 0.5 (not above 0.5)
    assert np.allclose(best_iou_per_truth(gt, d), [1, 1 / 3, 0.5, 0])
    assert np.allclose(best_iou_per_truth(gt, d, same_class=False), [1, 1, 0.5, 0])
    assert np.allclose(best_iou_per_truth(gt, d, conf=0.5), [1, 1 / 3, 0, 0])
    r = recall_breakdown(gt, d, image_sides=np.array([100, 400]))
    assert r["class"]["cat"] == {"boxes": 1, "recall@0.3": 1.0, "recall@0.5": 1.0, "median_iou": 1.0}
    assert r["class"]["dog"] == pytest.approx({"boxes": 2, "recall@0.3": 1.0, "recall@0.5": 0.0,
                                               "median_iou": (1 / 3 + 0.5) / 2})
    assert list(r["size"]) == ["<1/16", "1/16-1/8", "1/8-1/4", ">1/4"]
    assert r["size"]["<1/16"] == {"boxes": 1, "recall@0.3": 1.0, "recall@0.5": 0.0, "median_iou": 0.5}
    assert r["size"]["1/16-1/8"] == pytest.approx({"boxes": 2, "recall@0.3": 1.0, "recall@0.5": 0.5,
                                                   "median_iou": (1 + 1 / 3) / 2})
    assert r["size"][">1/4"]["boxes"] == 0 and math.isnan(r["size"][">1/4"]["recall@0.5"])
    r = recall_breakdown(gt, d, image_sides=np.array([100, 400]), conf=0.95, ious=(0.1,))
    assert r["class"]["cat"] == {"boxes": 1, "recall@0.1": 0.0, "median_iou": 0.0}
