"""VOC AP (py-faster-rcnn ``voc_eval`` rules): every reference number, and hand-made cases for each rule."""
from __future__ import annotations

import functools
import json
import math
import warnings

import numpy as np
import pytest

from yolo9000.errors import Yolo9000Error
from yolo9000.metrics import voc as voc_module
from yolo9000.metrics.coco import evaluate_coco
from yolo9000.metrics.structures import (
    DetectionSet, GroundTruth, ground_truth_from_coco, load_detections, load_ground_truth,
)
from yolo9000.metrics.voc import VOC07_RECALL_THRESHOLDS, box_iou_voc, evaluate_voc, match_detections, voc_ap

from ..conftest import SHARED

METRICS = SHARED / "reference" / "metrics"
CASES = ("cartucho_voc_sample", "coco_val2014_100_fakebbox", "padilla_coco_sampled", "padilla_odm_sample",
         "torchmetrics_inputs4")
TOL = 1e-9


@functools.lru_cache(maxsize=None)
def _case(case: str) -> tuple[GroundTruth, DetectionSet, dict]:
    folder = METRICS / case
    if not folder.is_dir():
        pytest.fail(f"metrics reference case not found at {folder} (set YOLO9000_SHARED)")
    gt = load_ground_truth(folder / "gt_coco.json")
    return gt, load_detections(folder / "det_coco.json", gt), json.loads((folder / "expected.json").read_text())


def _reference_keys() -> list[tuple[str, str]]:
    out = []
    for case in CASES:
        path = METRICS / case / "expected.json"
        keys = json.loads(path.read_text())["voc"] if path.is_file() else {"<missing>": None}
        out += [(case, k) for k in keys]
    return out


def _parse_key(key: str) -> tuple[bool, bool, float]:
    """``voc07_11pt_plus1_iou0.5`` -> (use_07_metric, plus1, iou)."""
    head, thr = key.split("_iou")
    metric, convention = head.rsplit("_", 1)
    assert metric in ("voc07_11pt", "voc_area") and convention in ("plus1", "noplus1"), key
    return metric == "voc07_11pt", convention == "plus1", float(thr)


def test_reference_keys_cover_every_case() -> None:
    keys = _reference_keys()
    assert {c for c, _ in keys} == set(CASES)
    assert len(keys) == 4 * 4 + 16  # padilla_odm_sample: 4 thresholds; the others: IoU 0.5 only
    assert {_parse_key(k)[:2] for _, k in keys} == {(a, b) for a in (True, False) for b in (True, False)}


@pytest.mark.parametrize("case,key", _reference_keys())
def test_reference_numbers(case: str, key: str) -> None:
    gt, dets, expected = _case(case)
    exp = expected["voc"][key]
    use_07, plus1, iou = _parse_key(key)
    r = evaluate_voc(gt, dets, iou=iou, use_07_metric=use_07, plus1=plus1)
    assert r.metric == ("voc07" if use_07 else "voc") and r.iou == iou and r.plus1 == plus1
    assert list(r.names) == expected["classes"] == list(exp["per_class_AP"])
    got = r.per_class()
    for name, ap in exp["per_class_AP"].items():
        if ap is None:
            assert math.isnan(got[name]), (name, got[name])
        else:
            assert abs(got[name] - ap) <= TOL, (name, got[name], ap)
    assert dict(zip(r.names, r.npos.tolist())) == exp["npos"]
    assert r.npos.dtype == np.int64 and r.ap.dtype == np.float64
    if exp["mAP_all_classes"] is None:
        assert r.mAP_all is None
    else:
        assert abs(r.mAP_all - exp["mAP_all_classes"]) <= TOL
    assert abs(r.mAP - exp["mAP_classes_with_gt"]) <= TOL
    # the curves agree with the counts
    for k in range(len(r.names)):
        n = int(r.tp[k] + r.fp[k] + r.ignored[k])
        assert r.precision[k].shape == r.recall[k].shape == r.scores[k].shape == (n,)
        assert np.all(np.diff(r.scores[k]) <= 0)
        if n and r.npos[k]:
            assert r.recall[k][-1] == r.tp[k] / r.npos[k]
    assert int((r.outcome == 1).sum()) == int(r.tp.sum()) and len(r.outcome) == len(dets)


def test_documented_numbers() -> None:
    """The third-party numbers the cases were taken from (Cartucho 31.05 %, Padilla's 8 values)."""
    gt, dets, expected = _case("cartucho_voc_sample")
    r = evaluate_voc(gt, dets, 0.5, use_07_metric=False, plus1=True)
    assert abs(r.mAP - 0.31047718500906324) <= TOL
    gt, dets, _ = _case("padilla_odm_sample")
    for iou, p11, pall in [(0.1, 0.3333333333, 0.3371980676), (0.3, 0.2683982683, 0.2456866804),
                           (0.5, 0.0303030303, 0.0222222222), (0.75, 0.0, 0.0)]:
        assert evaluate_voc(gt, dets, iou, True).mAP == pytest.approx(p11, abs=1e-9)
        assert evaluate_voc(gt, dets, iou, False).mAP == pytest.approx(pall, abs=1e-9)


# ---------------------------------------------------------------------------------------------------
# hand-made cases

def make_gt(boxes: list[tuple[int, int, list[float]]], num_images: int = 1, names: tuple[str, ...] = ("a",),
            difficult: list[int] | None = None, crowd: list[int] | None = None) -> GroundTruth:
    """``boxes``: (image, class, [x, y, w, h]) rows."""
    n = len(boxes)
    xywh = np.array([b[2] for b in boxes], float).reshape(-1, 4)
    return GroundTruth(tuple(range(num_images)), tuple(f"{i}.jpg" for i in range(num_images)),
                       tuple(range(len(names))), names, np.array([b[0] for b in boxes], np.int64),
                       np.array([b[1] for b in boxes], np.int64), xywh, xywh[:, 2] * xywh[:, 3],
                       np.array(difficult or [0] * n, bool), np.array(crowd or [0] * n, bool))


def make_dets(rows: list[tuple[int, int, list[float], float]]) -> DetectionSet:
    """``rows``: (image, class, [x, y, w, h], score)."""
    return DetectionSet(np.array([r[0] for r in rows], np.int64), np.array([r[1] for r in rows], np.int64),
                        np.array([r[2] for r in rows], float).reshape(-1, 4), np.array([r[3] for r in rows], float))


def test_box_iou_voc_plus1_and_not() -> None:
    a = np.array([[0.0, 0.0, 2.0, 2.0]])
    b = np.array([[1.0, 0.0, 3.0, 2.0], [10.0, 10.0, 12.0, 12.0], [0.0, 0.0, 2.0, 2.0]])
    assert box_iou_voc(a, b, plus1=False).tolist() == [[2 / 6, 0.0, 1.0]]  # inter 1*2, union 4 + 4 - 2
    assert box_iou_voc(a, b, plus1=True).tolist() == [[0.5, 0.0, 1.0]]  # inter 2*3, union 9 + 9 - 6
    assert box_iou_voc(b, a).shape == (3, 1) and box_iou_voc(np.zeros((0, 4)), b).shape == (0, 3)


def test_plus1_changes_small_box_matches() -> None:
    gt = make_gt([(0, 0, [0, 0, 2, 2])])
    dets = make_dets([(0, 0, [1, 0, 2, 2], 0.9)])
    assert evaluate_voc(gt, dets, 0.4, plus1=True).tp.tolist() == [1]  # IoU 0.5 > 0.4
    assert evaluate_voc(gt, dets, 0.4, plus1=False).tp.tolist() == [0]  # IoU 1/3
    assert evaluate_voc(gt, dets, 0.4, plus1=True).ap[0] == pytest.approx(1.0)
    assert evaluate_voc(gt, dets, 0.4, plus1=False).ap[0] == 0.0


@pytest.mark.parametrize("use_07", [True, False])
def test_iou_threshold_is_strict(use_07: bool) -> None:
    gt = make_gt([(0, 0, [0, 0, 10, 10])])
    dets = make_dets([(0, 0, [0, 0, 5, 10], 0.9)])  # IoU exactly 50 / 100 without +1
    assert box_iou_voc(gt.xyxy, dets.xyxy, plus1=False)[0, 0] == 0.5
    at = evaluate_voc(gt, dets, 0.5, use_07, plus1=False)
    assert at.tp.tolist() == [0] and at.fp.tolist() == [1] and at.ap[0] == 0.0
    below = evaluate_voc(gt, dets, 0.49, use_07, plus1=False)
    assert below.tp.tolist() == [1] and below.ap[0] == pytest.approx(1.0)


@pytest.mark.parametrize("flag", ["difficult", "crowd"])
def test_difficult_or_crowd_best_match_is_ignored(flag: str) -> None:
    # box 0 is difficult (or crowd); box 1 is ordinary and overlaps the first detection above 0.5 too
    gt = make_gt([(0, 0, [0, 0, 10, 10]), (0, 0, [2, 0, 10, 10])], **{flag: [1, 0]})
    first = (0, 0, [0, 0, 10, 10], 0.9)  # IoU 1 with box 0, 0.67 with box 1 -> ignored, no fallback to box 1
    second = (0, 0, [2, 0, 10, 10], 0.8)  # takes box 1
    r = evaluate_voc(gt, make_dets([first, second]), 0.5, use_07_metric=False)
    assert r.npos.tolist() == [1]
    assert r.outcome.tolist() == [-1, 1] and r.tp.tolist() == [1] and r.fp.tolist() == [0]
    assert r.ignored.tolist() == [1]
    # the ignored detection stays on the curve with tp = fp = 0 (precision 0 / eps = 0, not NaN)
    assert r.precision[0].tolist() == [0.0, 1.0] and r.recall[0].tolist() == [0.0, 1.0]
    assert r.ap[0] == 1.0  # as an FP it would be 0.5
    alone = evaluate_voc(gt, make_dets([first]), 0.5)
    assert alone.tp.tolist() == [0] and alone.fp.tolist() == [0] and alone.ap[0] == 0.0


def test_argmax_takes_first_box_on_equal_iou() -> None:
    # two identical boxes; the first is difficult, so a detection on them is ignored, never a TP
    gt = make_gt([(0, 0, [0, 0, 10, 10]), (0, 0, [0, 0, 10, 10])], difficult=[1, 0])
    dets = make_dets([(0, 0, [0, 0, 10, 10], 0.9)])
    iou, idx = match_detections(gt, dets)
    assert idx.tolist() == [0] and iou.tolist() == [1.0]
    assert evaluate_voc(gt, dets).outcome.tolist() == [-1]
    gt2 = make_gt([(0, 0, [0, 0, 10, 10]), (0, 0, [0, 0, 10, 10])], difficult=[0, 1])
    assert evaluate_voc(gt2, dets).outcome.tolist() == [1]


@pytest.mark.parametrize("use_07,expected", [(True, 6 / 11), (False, 0.5)])
def test_duplicate_is_false_positive_without_fallback(use_07: bool, expected: float) -> None:
    gt = make_gt([(0, 0, [0, 0, 10, 10]), (0, 0, [3, 0, 10, 10])])
    dets = make_dets([(0, 0, [0, 0, 10, 10], 0.9),  # takes box 0
                      (0, 0, [1, 0, 10, 10], 0.8)])  # best is box 0 again (its IoU with box 1 is above 0.5 too)
    assert box_iou_voc(dets.xyxy[1:], gt.xyxy)[0, 1] > 0.5
    r = evaluate_voc(gt, dets, 0.5, use_07)
    assert r.outcome.tolist() == [1, 0] and r.tp.tolist() == [1] and r.fp.tolist() == [1]
    assert r.recall[0].tolist() == [0.5, 0.5] and r.precision[0].tolist() == [1.0, 0.5]
    assert r.ap[0] == pytest.approx(expected, abs=1e-15)  # with fallback it would be 1


@pytest.mark.parametrize("use_07", [True, False])
def test_tied_scores_keep_detection_order(use_07: bool) -> None:
    gt = make_gt([(0, 0, [0, 0, 10, 10]), (1, 0, [0, 0, 10, 10])], num_images=2)
    hit = (0, 0, [0, 0, 10, 10], 0.5)
    miss = (1, 0, [50, 50, 10, 10], 0.5)
    tp_first = evaluate_voc(gt, make_dets([hit, miss]), 0.5, use_07)
    fp_first = evaluate_voc(gt, make_dets([miss, hit]), 0.5, use_07)
    assert tp_first.precision[0].tolist() == [1.0, 0.5] and fp_first.precision[0].tolist() == [0.0, 0.5]
    assert tp_first.ap[0] == pytest.approx(6 / 11 if use_07 else 0.5, abs=1e-15)
    assert fp_first.ap[0] == pytest.approx(0.5 / 11 * 6 if use_07 else 0.25, abs=1e-15)
    assert tp_first.ap[0] != fp_first.ap[0]
    # a higher score still goes first whatever the input order
    later = evaluate_voc(gt, make_dets([miss, (0, 0, [0, 0, 10, 10], 0.6)]), 0.5, use_07)
    assert later.ap[0] == tp_first.ap[0]


def test_eleven_thresholds_are_numpy_arange() -> None:
    assert np.array_equal(VOC07_RECALL_THRESHOLDS, np.arange(0.0, 1.1, 0.1))
    assert VOC07_RECALL_THRESHOLDS.size == 11 and VOC07_RECALL_THRESHOLDS[3] == 0.30000000000000004
    # recall 3/10 = 0.3 falls short of the 4th threshold, 0.30000000000000004: 3 points, not 4
    assert voc_ap(np.array([0.1, 0.2, 0.3]), np.ones(3), True) == pytest.approx(3 / 11, abs=1e-15)
    assert voc_ap(np.array([0.7]), np.ones(1), True) == pytest.approx(7 / 11, abs=1e-15)  # 0.7000000000000001
    gt = make_gt([(0, 0, [20 * i, 0, 10, 10]) for i in range(10)])
    dets = make_dets([(0, 0, [20 * i, 0, 10, 10], 1.0 - 0.1 * i) for i in range(3)])
    assert evaluate_voc(gt, dets, 0.5, True).ap[0] == pytest.approx(3 / 11, abs=1e-15)
    assert evaluate_voc(gt, dets, 0.5, False).ap[0] == pytest.approx(0.3, abs=1e-15)


def test_voc_ap_area_envelope() -> None:
    rec = np.array([0.25, 0.25, 0.5, 0.75])
    prec = np.array([1.0, 0.5, 2 / 3, 0.75])
    # envelope 1 on [0, .25], 0.75 on (.25, .75], 0 after
    assert voc_ap(rec, prec, False) == pytest.approx(0.25 + 0.5 * 0.75, abs=1e-15)
    assert voc_ap(np.zeros(0), np.zeros(0), False) == 0.0 and voc_ap(np.zeros(0), np.zeros(0), True) == 0.0


def test_classes_without_ground_truth_or_detections() -> None:
    names = ("has_gt", "no_gt", "no_dets", "nothing")
    gt = make_gt([(0, 0, [0, 0, 10, 10]), (0, 2, [30, 30, 10, 10])], names=names)
    dets = make_dets([(0, 0, [0, 0, 10, 10], 0.9), (0, 1, [0, 0, 10, 10], 0.8)])
    v07 = evaluate_voc(gt, dets, 0.5, True)
    area = evaluate_voc(gt, dets, 0.5, False)
    assert v07.npos.tolist() == [1, 0, 1, 0]
    assert v07.ap.tolist() == pytest.approx([1.0, 0.0, 0.0, 0.0])  # npos = 0: recall NaN -> 11-point AP 0
    assert area.ap[0] == 1.0 and math.isnan(area.ap[1]) and area.ap[2:].tolist() == [0.0, 0.0]
    assert math.isnan(v07.recall[1][0]) and v07.precision[1].tolist() == [0.0] and len(v07.recall[2]) == 0
    assert v07.mAP == pytest.approx(0.5) and v07.mAP_all == pytest.approx(0.25)
    assert area.mAP == pytest.approx(0.5) and area.mAP_all is None
    assert area.per_class()["has_gt"] == 1.0 and set(area.per_class()) == set(names)


def test_empty_inputs() -> None:
    gt = make_gt([], names=("a", "b"))
    r = evaluate_voc(gt, make_dets([]))
    assert r.ap.tolist() == [0.0, 0.0] and r.npos.tolist() == [0, 0] and math.isnan(r.mAP) and r.mAP_all == 0.0
    gt = make_gt([(0, 0, [0, 0, 10, 10])], names=("a", "b"))
    r = evaluate_voc(gt, make_dets([]))
    assert r.ap.tolist() == [0.0, 0.0] and r.mAP == 0.0
    r = evaluate_voc(make_gt([], names=("a",)), make_dets([(0, 0, [0, 0, 5, 5], 0.3)]))
    assert r.fp.tolist() == [1] and r.outcome.tolist() == [0]


# ---------------------------------------------------------------------------------------------------
# random cases against a plain per-detection loop written from the rules


def _loop_reference(gt: GroundTruth, dets: DetectionSet, iou: float, use_07: bool, plus1: bool) -> np.ndarray:
    hard = gt.difficult | gt.iscrowd
    aps = []
    for c in range(gt.num_classes):
        npos = int(np.sum((gt.label == c) & ~hard))
        rows = [i for i in range(len(dets)) if dets.label[i] == c]
        rows.sort(key=lambda i: -dets.scores[i])  # list.sort is stable
        if not rows:
            aps.append(0.0)
            continue
        taken: set[int] = set()
        tp, fp = [], []
        for i in rows:
            cands = [j for j in range(len(gt.label)) if gt.label[j] == c and gt.image_index[j] == dets.image_index[i]]
            best, best_j = -np.inf, -1
            for j in cands:
                o = box_iou_voc(dets.xyxy[i:i + 1], gt.xyxy[j:j + 1], plus1)[0, 0]
                if o > best:
                    best, best_j = o, j
            t = f = 0
            if best > iou:
                if not hard[best_j]:
                    if best_j in taken:
                        f = 1
                    else:
                        t = 1
                        taken.add(best_j)
            else:
                f = 1
            tp.append(t)
            fp.append(f)
        ctp, cfp = np.cumsum(tp, dtype=float), np.cumsum(fp, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            rec = ctp / npos
        prec = ctp / np.maximum(ctp + cfp, np.finfo(float).eps)
        if use_07:
            ap = sum((max(p for r_, p in zip(rec, prec) if r_ >= t) if np.any(rec >= t) else 0.0) / 11
                     for t in np.arange(0.0, 1.1, 0.1))
        else:
            r_ = [0.0, *rec, 1.0]
            p_ = [0.0, *prec, 0.0]
            for k in range(len(p_) - 2, -1, -1):
                p_[k] = max(p_[k], p_[k + 1])
            ap = sum((r_[k + 1] - r_[k]) * p_[k + 1] for k in range(len(r_) - 1) if r_[k + 1] != r_[k])
            ap = float("nan") if np.isnan(rec).any() else ap
        aps.append(ap)
    return np.array(aps)


def _random_case(seed: int) -> tuple[GroundTruth, DetectionSet]:
    rng = np.random.default_rng(seed)
    n_img, n_cls = 6, 3
    g = int(rng.integers(5, 40))
    gxy = rng.integers(0, 40, (g, 2)).astype(float)
    gwh = rng.integers(1, 25, (g, 2)).astype(float)
    gt = GroundTruth(tuple(range(n_img)), tuple(map(str, range(n_img))), (0, 1, 2), ("x", "y", "z"),
                     rng.integers(0, n_img, g), rng.integers(0, n_cls, g), np.hstack([gxy, gwh]),
                     gwh.prod(1), rng.random(g) < 0.2, rng.random(g) < 0.1)
    d = int(rng.integers(0, 120))
    src = rng.integers(0, g, d)  # most detections jitter a box (duplicates included), some are random
    jitter = rng.integers(-3, 4, (d, 4)).astype(float)
    xywh = gt.boxes_xywh[src] + jitter
    xywh[:, 2:] = np.maximum(xywh[:, 2:], 0.0)
    lab = np.where(rng.random(d) < 0.8, gt.label[src], rng.integers(0, n_cls, d))
    img = np.where(rng.random(d) < 0.9, gt.image_index[src], rng.integers(0, n_img, d))
    scores = rng.integers(0, 6, d) / 5.0  # many ties
    return gt, DetectionSet(img, lab, xywh, scores)


@pytest.mark.parametrize("seed", range(12))
def test_random_cases_match_plain_loop(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    gt, dets = _random_case(seed)
    if seed % 2:
        monkeypatch.setattr(voc_module, "_MAX_PAIRS", 7)  # many pair chunks
    for use_07 in (True, False):
        for plus1 in (True, False):
            for iou in (0.3, 0.5, 0.7):
                got = evaluate_voc(gt, dets, iou, use_07, plus1).ap
                want = _loop_reference(gt, dets, iou, use_07, plus1)
                np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, equal_nan=True)


# ----------------------------------------------------------------------------- ground truth flags and sizes (issue 22)
def _coco_gt(*boxes: list[float], **ann: object) -> dict:
    return {"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "cat"}],
            "annotations": [{"id": i, "image_id": 1, "category_id": 1, "bbox": b, **ann}
                            for i, b in enumerate(boxes or ([5.0, 5.0, 20.0, 20.0],))]}


@pytest.mark.parametrize("value, flag", [
    (0, False), (1, True), (0.0, False), (True, True), (False, False), ("0", False), ("1", True),
    ("false", False), ("TRUE", True), (" True ", True), ("False", False),
])
def test_difficult_and_iscrowd_flags_parse_strings(value: object, flag: bool) -> None:
    for key in ("difficult", "iscrowd"):
        gt = ground_truth_from_coco(_coco_gt(**{key: value}), "gt.json")
        assert getattr(gt, key).tolist() == [flag]


@pytest.mark.parametrize("value", ["yes", "", 2, -1, 0.5, None, [0], "0.0"])
def test_other_flags_are_one_line_errors_naming_the_file(value: object) -> None:
    with pytest.raises(Yolo9000Error) as e:
        ground_truth_from_coco(_coco_gt(difficult=value), "gt.json")
    assert str(e.value) == f"gt.json: annotation 0: 'difficult' must be 0 or 1 (or true / false), got {value!r}"


def test_boxes_all_under_a_pixel_warn_once() -> None:
    with pytest.warns(UserWarning) as rec:
        ground_truth_from_coco(_coco_gt([0.1, 0.1, 0.2, 0.2], [0.5, 0.5, 0.3, 0.999]), "gt.json")
    assert [str(r.message) for r in rec] == [
        "gt.json: every box is under a pixel wide and high (largest 0.3 x 0.999): normalised coordinates? COCO "
        "boxes are [x, y, w, h] in pixels; the scores mean nothing (VOC's +1-pixel widths make every such box "
        "overlap)"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ground_truth_from_coco(_coco_gt([0.1, 0.1, 0.2, 0.2], [3, 3, 1, 0.5]), "gt.json")  # one a pixel wide
        ground_truth_from_coco({**_coco_gt(), "annotations": []}, "gt.json")  # no boxes at all


def test_boxes_near_the_float_range_score_quietly() -> None:
    huge = np.array([[0.0, 0.0, 1e300, 1e300]])  # xyxy: an area of 1e600, infinite in float64
    with np.errstate(over="ignore"):  # make_gt's own area
        gt = make_gt([(0, 0, [1e300, 1e300, 1e300, 1e300])])
    dets = make_dets([(0, 0, [1e300, 1e300, 1e300, 1e300], 0.9)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow RuntimeWarning would raise
        assert np.isnan(box_iou_voc(huge, huge)).all() and np.isnan(box_iou_voc(huge, huge, plus1=False)).all()
        assert evaluate_voc(gt, dets, 0.5).tp.tolist() == [0]
        coco = evaluate_coco(ground_truth_from_coco(_coco_gt([1e300] * 4)), DetectionSet(
            np.zeros(1, np.int64), np.zeros(1, np.int64), np.full((1, 4), 1e300), np.array([0.9])))
        assert coco.stats["AP"] == -1.0  # an area beyond pycocotools' 1e10 "all" range: no box counts (n/a)
