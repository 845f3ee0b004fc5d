"""COCO bbox AP: the reference cases, and bit-for-bit agreement with plain pycocotools."""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json

import numpy as np
import pytest

from yolo9000.errors import Yolo9000Error
from yolo9000.metrics.coco import (
    COCO_STAT_KEYS, IOU_THRESHOLDS, RECALL_THRESHOLDS, COCOResult, evaluate_coco, evaluate_coco_files,
)
from yolo9000.metrics.structures import (
    DetectionSet, GroundTruth, detections_to_coco, ground_truth_to_coco, load_detections, load_ground_truth,
)

from ..conftest import SHARED

METRICS = SHARED / "reference" / "metrics"
CASES = ["cartucho_voc_sample", "coco_val2014_100_fakebbox", "padilla_coco_sampled", "padilla_odm_sample",
         "torchmetrics_inputs4"]


def load_case(case: str) -> tuple[GroundTruth, DetectionSet, dict]:
    gt = load_ground_truth(METRICS / case / "gt_coco.json")
    dets = load_detections(METRICS / case / "det_coco.json", gt)
    return gt, dets, json.loads((METRICS / case / "expected.json").read_text())["coco"]


def plain_pycocotools(gt: GroundTruth, dets: DetectionSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pycocotools itself: (stats (12,), precision (T,R,K,A,M), recall (T,K,A,M)), K sorted by category id."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = ground_truth_to_coco(gt)
        coco_gt.createIndex()
        ev = COCOeval(coco_gt, coco_gt.loadRes(detections_to_coco(dets, gt)), iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats), ev.eval["precision"], ev.eval["recall"]


def random_set(seed: int) -> tuple[GroundTruth, DetectionSet]:
    """A small set full of the cases that decide the last bits.

    Tied scores, image ids out of order, categories out of id order, crowd boxes, area fields on the
    range bounds (32**2, 96**2), boxes on the bounds, exact duplicate boxes, pairs of boxes with a
    detection halfway (equal IoUs: pycocotools takes the last), over 100 detections in one image and
    category (the maxDets cut), zero-width detections, images without ground truth.
    """
    rng = np.random.default_rng(seed)
    n_img, n_cls = 6, 4
    keys = tuple(int(k) for k in rng.choice(1000, n_img, replace=False))
    cat_ids = tuple(int(c) for c in rng.choice(np.arange(1, 91), n_cls, replace=False))
    n_gt = 40

    def boxes(n: int) -> np.ndarray:
        side = rng.choice([8.0, 16.0, 31.0, 32.0, 33.0, 64.0, 96.0, 97.0, 150.0], n)
        xy = np.round(rng.uniform(0, 200, (n, 2)))
        return np.concatenate([xy, side[:, None] * np.stack([np.ones(n), rng.choice([0.5, 1.0, 2.0], n)], 1)], 1)

    g_box = boxes(n_gt)
    g_img = rng.integers(0, n_img - 1, n_gt)  # the last image has no ground truth
    g_lab = rng.integers(0, n_cls - 1, n_gt)  # the last category has no ground truth
    dup = rng.integers(0, n_gt, 6)  # exact duplicates
    mir = rng.integers(0, n_gt, 8)  # a sibling 2*dx to the right, and a detection halfway
    dx = np.round(g_box[mir, 2] * 0.1)
    sibling = g_box[mir] + np.c_[2 * dx, 0 * dx, 0 * dx, 0 * dx]
    g_box = np.concatenate([g_box, g_box[dup], sibling])
    g_img = np.concatenate([g_img, g_img[dup], g_img[mir]])
    g_lab = np.concatenate([g_lab, g_lab[dup], g_lab[mir]])
    G = len(g_box)
    area = np.where(rng.random(G) < 0.3, rng.choice([32.0 ** 2, 96.0 ** 2, 0.0], G), g_box[:, 2] * g_box[:, 3])
    crowd = rng.random(G) < 0.12

    src = rng.integers(0, G, 120)
    jitter = np.round(rng.normal(0, 3, (src.size, 4))) * (rng.random((src.size, 1)) < 0.7)
    near = g_box[src] + jitter
    near[:, 2:] = np.maximum(near[:, 2:], 0.0)
    halfway = g_box[mir] + np.c_[dx, 0 * dx, 0 * dx, 0 * dx]
    crowded = boxes(110)  # all in image 0, category 0: over maxDets
    rand = boxes(60)
    d_box = np.concatenate([near, halfway, crowded, rand])
    d_img = np.concatenate([g_img[src], g_img[mir], np.zeros(110, int), rng.integers(0, n_img, 60)])
    d_lab = np.concatenate([g_lab[src], g_lab[mir], np.zeros(110, int), rng.integers(0, n_cls, 60)])
    d_score = np.round(rng.random(len(d_box)), 1)  # many ties
    perm = rng.permutation(len(d_box))
    gt = GroundTruth(keys, tuple(f"{k}.jpg" for k in keys), cat_ids, tuple(f"c{c}" for c in cat_ids),
                     g_img.astype(np.int64), g_lab.astype(np.int64), g_box, area, np.zeros(G, bool), crowd)
    dets = DetectionSet(d_img[perm].astype(np.int64), d_lab[perm].astype(np.int64), d_box[perm], d_score[perm])
    return gt, dets


def by_id(gt: GroundTruth) -> np.ndarray:
    return np.argsort(np.asarray(gt.category_ids), kind="stable")


# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_reference_case(case: str) -> None:
    gt, dets, exp = load_case(case)
    r = evaluate_coco(gt, dets)
    assert r.engine == "numpy"
    assert list(r.stats) == list(COCO_STAT_KEYS) == list(exp["stats"])
    for k in COCO_STAT_KEYS:
        assert r.stats[k] == pytest.approx(exp["stats"][k], abs=1e-9), k
    assert list(r.names) == list(exp["per_class_AP"])
    for got, key in ((r.per_class_ap, "per_class_AP"), (r.per_class_ap50, "per_class_AP50"),
                     (r.per_class_ar100, "per_class_AR100")):
        np.testing.assert_allclose(got, [exp[key][n] for n in r.names], rtol=0, atol=1e-9, err_msg=key)
    assert r.per_class() == {n: float(v) for n, v in zip(r.names, r.per_class_ap)}


@pytest.mark.parametrize("case", CASES)
def test_reference_case_identical_to_pycocotools(case: str) -> None:
    gt, dets, _ = load_case(case)
    ours = evaluate_coco(gt, dets)
    stats, precision, recall = plain_pycocotools(gt, dets)
    assert [ours.stats[k] for k in COCO_STAT_KEYS] == stats.tolist()
    assert np.array_equal(ours.precision[:, :, by_id(gt)], precision)
    assert np.array_equal(ours.recall[:, by_id(gt)], recall)


@pytest.mark.parametrize("seed", range(6))
def test_random_set_identical_to_pycocotools(seed: int) -> None:
    gt, dets = random_set(seed)
    ours = evaluate_coco(gt, dets)
    stats, precision, recall = plain_pycocotools(gt, dets)
    assert [ours.stats[k] for k in COCO_STAT_KEYS] == stats.tolist()
    assert np.array_equal(ours.precision[:, :, by_id(gt)], precision)
    assert np.array_equal(ours.recall[:, by_id(gt)], recall)
    # our pycocotools engine (the same library through evaluate_coco) gives the very same result
    ref = evaluate_coco(gt, dets, engine="pycocotools")
    assert ref.engine == "pycocotools" and ref.stats == ours.stats
    for f in ("per_class_ap", "per_class_ap50", "per_class_ar100", "precision", "recall"):
        assert np.array_equal(getattr(ref, f), getattr(ours, f)), f
    assert ours.per_class_ap[gt.num_classes - 1] == -1  # the category without ground truth


def test_random_set_exercises_the_hard_cases() -> None:
    gt, dets = random_set(0)
    assert gt.iscrowd.any() and (gt.area == 32.0 ** 2).any()
    assert list(gt.image_keys) != sorted(gt.image_keys) and list(gt.category_ids) != sorted(gt.category_ids)
    _, counts = np.unique(np.c_[dets.image_index, dets.label], axis=0, return_counts=True)
    assert counts.max() > 100
    assert len(np.unique(dets.scores)) < len(dets) // 10


def test_faster_coco_eval_engine_agrees() -> None:
    gt, dets, exp = load_case("coco_val2014_100_fakebbox")
    r = evaluate_coco(gt, dets, engine="faster_coco_eval")
    assert r.engine == "faster_coco_eval"
    for k in COCO_STAT_KEYS:
        assert r.stats[k] == pytest.approx(exp["stats"][k], abs=1e-12)
    np.testing.assert_allclose(r.precision, evaluate_coco(gt, dets).precision, rtol=0, atol=1e-12)


@pytest.mark.parametrize("engine", ["auto", "numpy", "pycocotools", "faster_coco_eval"])
def test_empty_detections(engine: str) -> None:
    gt, _, _ = load_case("torchmetrics_inputs4")
    empty = DetectionSet(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0))
    r = evaluate_coco(gt, empty, engine=engine)
    # pycocotools: 0 wherever the area range holds ground truth, -1 where it holds none
    has_gt = evaluate_coco(gt, load_detections(METRICS / "torchmetrics_inputs4" / "det_coco.json", gt)).stats
    assert r.stats == {k: (0.0 if has_gt[k] > -1 else -1.0) for k in COCO_STAT_KEYS}
    with_gt = np.bincount(gt.label[~gt.iscrowd], minlength=gt.num_classes) > 0
    for arr in (r.per_class_ap, r.per_class_ap50, r.per_class_ar100):
        np.testing.assert_array_equal(arr, np.where(with_gt, 0.0, -1.0))


def test_empty_ground_truth() -> None:
    gt = GroundTruth((1, 2), ("a", "b"), (1,), ("x",), np.zeros(0, np.int64), np.zeros(0, np.int64),
                     np.zeros((0, 4)), np.zeros(0), np.zeros(0, bool), np.zeros(0, bool))
    dets = DetectionSet(np.array([0]), np.array([0]), np.array([[0.0, 0.0, 10.0, 10.0]]), np.array([0.5]))
    r = evaluate_coco(gt, dets)
    assert all(v == -1.0 for v in r.stats.values())
    assert r.per_class() == {"x": -1.0}
    assert (r.precision == -1).all() and (r.recall == -1).all()


def test_category_without_ground_truth_is_left_out() -> None:
    # torchmetrics_inputs4: category "3" has detections but no ground truth
    gt, dets, _ = load_case("torchmetrics_inputs4")
    k = gt.names.index("3")
    assert not (gt.label == k).any() and (dets.label == k).any()
    r = evaluate_coco(gt, dets)
    assert r.per_class_ap[k] == r.per_class_ap50[k] == r.per_class_ar100[k] == -1.0
    assert (r.precision[:, :, k] == -1).all() and (r.recall[:, k] == -1).all()
    keep = dets.label != k  # its detections change nothing
    without = evaluate_coco(gt, DetectionSet(dets.image_index[keep], dets.label[keep], dets.boxes_xywh[keep],
                                             dets.scores[keep]))
    assert without.stats == r.stats


def test_crowd_boxes() -> None:
    # coco_val2014_100_fakebbox holds crowd boxes; padilla_coco_sampled is the same set without them
    gt, dets, exp = load_case("coco_val2014_100_fakebbox")
    assert gt.iscrowd.sum() > 0
    r = evaluate_coco(gt, dets)
    assert r.stats["AP"] == pytest.approx(exp["stats"]["AP"], abs=1e-9)
    assert r.stats["AP"] != pytest.approx(load_case("padilla_coco_sampled")[2]["stats"]["AP"], abs=1e-6)


def test_crowd_matching_rules() -> None:
    # one person and one crowd region; a small detection inside the crowd region has IoU 1 with it
    # (intersection over the detection's area) and is ignored, so precision stays 1; several
    # detections may fall on the same crowd region
    boxes = np.array([[0.0, 0.0, 50.0, 50.0], [100.0, 0.0, 200.0, 200.0]])
    gt = GroundTruth((7,), ("a.jpg",), (1,), ("person",), np.zeros(2, np.int64), np.zeros(2, np.int64), boxes,
                     boxes[:, 2] * boxes[:, 3], np.zeros(2, bool), np.array([False, True]))
    dets = DetectionSet(np.zeros(4, np.int64), np.zeros(4, np.int64),
                        np.array([[120.0, 20.0, 40.0, 40.0], [0.0, 0.0, 50.0, 50.0], [150.0, 50.0, 30.0, 30.0],
                                  [300.0, 300.0, 10.0, 10.0]]), np.array([0.9, 0.8, 0.7, 0.1]))
    r = evaluate_coco(gt, dets)
    assert r.stats["AP"] == pytest.approx(1.0, abs=1e-12) and r.stats["AR100"] == 1.0  # tp / (tp + eps)
    stats, _, _ = plain_pycocotools(gt, dets)
    assert [r.stats[k] for k in COCO_STAT_KEYS] == stats.tolist()


def test_result_shapes_and_api(tmp_path) -> None:
    gt, dets, _ = load_case("torchmetrics_inputs4")
    r = evaluate_coco(gt, dets)
    K = gt.num_classes
    assert isinstance(r, COCOResult) and r.names == gt.names
    assert r.precision.shape == (len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS), K, 4, 3) == (10, 101, K, 4, 3)
    assert r.recall.shape == (10, K, 4, 3)
    assert r.per_class_ap.shape == r.per_class_ap50.shape == r.per_class_ar100.shape == (K,)
    assert all(isinstance(v, float) for v in r.stats.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.engine = "x"  # type: ignore[misc]
    with pytest.raises(ValueError):
        r.precision[0, 0, 0, 0, 0] = 1.0
    files = evaluate_coco_files(METRICS / "torchmetrics_inputs4" / "gt_coco.json",
                                METRICS / "torchmetrics_inputs4" / "det_coco.json")
    assert files.stats == r.stats and np.array_equal(files.precision, r.precision)
    with pytest.raises(Yolo9000Error, match="engine"):
        evaluate_coco(gt, dets, engine="torchmetrics")


@pytest.mark.parametrize("engine", ["numpy", "pycocotools", "faster_coco_eval"])
def test_engines_print_nothing(engine: str, capsys, caplog) -> None:
    gt, dets, _ = load_case("padilla_odm_sample")
    evaluate_coco(gt, dets, engine=engine)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    assert not caplog.records
