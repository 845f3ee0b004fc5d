"""The per-class report (``yolo9000.metrics.summary``) on a hand-made case whose every count is known, and
its APs against the metric functions they come from."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from yolo9000.metrics.coco import evaluate_coco
from yolo9000.metrics.summary import summarize
from yolo9000.metrics.voc import evaluate_voc

from .test_analysis import dets, gt_two_images

# image 0: cat [0,0,10,10], dog [20,20,10,10]; image 1: dog [0,0,20,20], a difficult cat [50,50,5,5]
DETS = dets([
    (0, 0, [0, 0, 10, 10], 0.9),     # the cat of image 0: TP, IoU 1
    (0, 0, [1, 0, 10, 10], 0.8),     # the same cat again: FP (the box is taken)
    (0, 1, [20, 20, 10, 10], 0.2),   # the dog of image 0, below the working confidence: it stays an FN
    (1, 0, [50, 50, 5, 5], 0.7),     # the difficult cat: neither counted nor missed
    (1, 1, [0, 0, 20, 16], 0.6),     # the dog of image 1, IoU 16/20 (+1 pixel widths: 357/441): TP
    (1, 1, [60, 60, 10, 10], 0.5),   # nothing there: FP
])


def test_counts_rates_and_iou_at_the_working_confidence():
    gt = gt_two_images()
    r = summarize(gt, DETS, evaluate_voc(gt, DETS), conf=0.25)
    assert r.names == ("cat", "dog") and r.ap_name == "AP50"
    assert r.images.tolist() == [2, 2] and r.instances.tolist() == [1, 2]  # the difficult cat: an image, no instance
    assert (r.tp.tolist(), r.fp.tolist(), r.fn.tolist()) == ([1, 1], [1, 1], [0, 1])
    np.testing.assert_allclose(r.precision, [0.5, 0.5])
    np.testing.assert_allclose(r.recall, [1.0, 0.5])
    np.testing.assert_allclose(r.f1, [2 / 3, 0.5])
    np.testing.assert_allclose(r.mean_iou, [1.0, 357 / 441])
    t = r.totals
    assert (t["images"], t["instances"], t["tp"], t["fp"], t["fn"]) == (2, 3, 2, 2, 1)
    assert t["precision"] == 0.5 and t["recall"] == 2 / 3 and t["mean_iou"] == pytest.approx((1 + 357 / 441) / 2)
    # a lower working confidence takes the dog of image 0 in
    low = summarize(gt, DETS, evaluate_voc(gt, DETS), conf=0.1)
    assert low.tp.tolist() == [1, 2] and low.fn.tolist() == [0, 0]


def test_the_aps_are_the_metrics_own():
    """AP is the chosen metric's per class over every detection; AP50-95 is COCO's, with the difficult box as
    a crowd box; the Ultralytics names read them."""
    gt = gt_two_images()
    voc = evaluate_voc(gt, DETS, use_07_metric=False)
    r = summarize(gt, DETS, voc, conf=0.25)
    coco = evaluate_coco(dataclasses.replace(gt, iscrowd=gt.difficult.copy()), DETS)
    assert np.array_equal(r.ap, voc.ap) and np.array_equal(r.ap50_95, coco.per_class_ap)
    assert r.box.map50 == voc.mAP and r.box.map == pytest.approx(np.mean(coco.per_class_ap))
    assert r.box.mp == 0.5 and r.box.mr == 0.75 and np.array_equal(r.box.ap50, voc.ap)
    as_coco = summarize(gt, DETS, evaluate_coco(gt, DETS), conf=0.25)
    assert as_coco.ap_name == "AP50" and np.array_equal(as_coco.ap, evaluate_coco(gt, DETS).per_class_ap50)
    assert summarize(gt, DETS, evaluate_voc(gt, DETS, iou=0.7)).ap_name == "AP70"


def test_table_and_json():
    gt = gt_two_images()
    r = summarize(gt, DETS, evaluate_voc(gt, DETS), conf=0.25)
    lines = r.table().splitlines()
    assert lines[1].split() == ["class", "images", "instances", "TP", "FP", "FN", "P", "R", "F1", "IoU", "AP50",
                                "AP50-95"]
    assert lines[2].split()[:6] == ["all", "2", "3", "2", "2", "1"] and lines[3].split()[0] == "cat"
    js = r.to_json()
    assert js["per_class"]["cat"]["tp"] == 1 and isinstance(js["per_class"]["cat"]["tp"], int)
    assert js["per_class"]["dog"]["recall"] == 0.5 and js["all"]["fn"] == 1
    nobody = summarize(gt, dets([]), evaluate_voc(gt, dets([])), conf=0.25)
    assert nobody.to_json()["per_class"]["cat"]["mean_iou"] is None and nobody.tp.tolist() == [0, 0]
