"""Dimension clusters: IoU of shapes, k-means anchors, units, letterbox, COCO JSON boxes, study, CLI."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from yolo9000.anchors.kmeans import (YOLO_VOC_2_0_ANCHORS_GRID, YOLOV2_VOC_ANCHORS_GRID, AnchorFit, _iou_cost, _kmeanspp,
                              _lloyd, _restart_rng, _update, anchors_for_dataset, boxes_from_coco_json,
                              dataset_box_shapes, from_grid, kmeans_anchors, kmeans_euclidean, mean_best_iou,
                              shape_iou, to_grid)
from yolo9000.anchors.report import anchor_study, format_cfg_anchors, format_python_anchors, study_markdown
from yolo9000.cli.anchors import add_anchors_parser, cmd_anchors
from yolo9000.datasets import DetectionDataset, ImageRecord, load_dataset
from yolo9000.errors import Yolo9000Error

ROOT = Path(__file__).resolve().parents[2]
RACCOON_YAML = ROOT / "data" / "raccoon.yaml"
TRUE_SHAPES = np.array([[0.08, 0.12], [0.40, 0.22], [0.55, 0.80]])  # sorted by area


def three_clusters(n_each: int, noise: float = 0.03, seed: int = 0) -> np.ndarray:
    """(3 * n_each, 2) shapes: each of TRUE_SHAPES times log-normal noise of relative size ``noise``."""
    rng = np.random.default_rng(seed)
    base = np.repeat(TRUE_SHAPES, n_each, axis=0)
    return base * np.exp(rng.normal(0.0, noise, base.shape))


def record(width: int, height: int, boxes_xyxy: list, difficult: list | None = None) -> ImageRecord:
    n = len(boxes_xyxy)
    return ImageRecord(Path(f"/nonexistent/{width}x{height}.jpg"), width, height, boxes_xyxy, np.zeros(n),
                       difficult if difficult is not None else np.zeros(n, bool), np.zeros(n, bool),
                       f"{width}x{height}")


# ------------------------------------------------------------------------------------------ IoU
@pytest.mark.parametrize("a, b, iou", [
    ((2, 3), (2, 3), 1.0),
    ((2, 2), (1, 1), 1 / 4),           # one inside the other: area ratio
    ((4, 1), (1, 4), 1 / 7),           # a cross: 1 / (4 + 4 - 1)
    ((2, 3), (3, 1), 2 / 7),           # inter 2 x 1, union 6 + 3 - 2
    ((0.1, 0.5), (0.2, 0.25), 0.025 / 0.075),
])
def test_shape_iou_hand_computed(a, b, iou):
    assert shape_iou(np.array([a]), np.array([b]))[0, 0] == pytest.approx(iou, rel=1e-12)
    assert shape_iou(np.array([b]), np.array([a]))[0, 0] == pytest.approx(iou, rel=1e-12)
    # the k-means distance is exactly 1 - IoU, and picks the closest centroid
    assign, cost = _iou_cost(np.array([a], float), np.array([(100.0, 0.01), b], float))
    assert assign[0] == 1 and cost[0] == pytest.approx(1 - iou, rel=1e-12, abs=1e-15)


def test_shape_iou_matrix_and_scale_invariance():
    a = np.array([[1.0, 2.0], [3.0, 1.0], [0.5, 0.5]])
    b = np.array([[1.0, 1.0], [2.0, 2.0]])
    m = shape_iou(a, b)
    assert m.shape == (3, 2)
    assert m[0].tolist() == pytest.approx([1 / 2, 2 / 4])
    assert m[1].tolist() == pytest.approx([1 / 3, 2 / 5])
    assert m[2].tolist() == pytest.approx([0.25, 0.0625])
    np.testing.assert_allclose(shape_iou(a * 7.5, b * 7.5), m, rtol=1e-12)
    assert mean_best_iou(a, b) == pytest.approx((1 / 2 + 2 / 5 + 1 / 4) / 3)


# ------------------------------------------------------------------------------------------ units
def test_grid_units():
    # an anchor of one cell at 416 is 32 pixels: 32 / 416 of the side -> 1.0 grid cell
    np.testing.assert_allclose(to_grid(np.array([[32 / 416, 64 / 416]]), 416), [[1.0, 2.0]], rtol=1e-12)
    np.testing.assert_allclose(to_grid(np.array([[0.5, 0.25]]), 608), [[9.5, 4.75]], rtol=1e-12)
    np.testing.assert_allclose(from_grid((1.0, 2.0, 13.0, 6.5), 416), [[1 / 13, 2 / 13], [1.0, 0.5]], rtol=1e-12)
    # darknet's VOC anchors are grid cells at 416 (13 x 13): / 13 -> fractions of the image
    np.testing.assert_allclose(from_grid(YOLOV2_VOC_ANCHORS_GRID, 416)[0], [1.3221 / 13, 1.73145 / 13])
    assert from_grid(YOLO_VOC_2_0_ANCHORS_GRID, 416).shape == (5, 2)
    assert format_cfg_anchors(np.array([[1.08, 1.19], [3.424, 4.406]])) == "anchors = 1.08,1.19, 3.42,4.41"
    assert format_python_anchors(np.array([[1.08, 1.19], [3.424, 4.406]])) == "(1.08, 1.19, 3.42, 4.41)"


def test_letterbox_vs_stretch_on_a_non_square_image():
    ds = DetectionDataset(("a",), "train", Path("/nonexistent"), (
        record(640, 320, [[10, 20, 74, 52], [0, 0, 320, 320]]),            # 64 x 32 and 320 x 320 px
        record(200, 400, [[0, 0, 100, 100], [5, 5, 15, 15]], [False, True]),  # the second is difficult
    ))
    lb = dataset_box_shapes(ds)
    np.testing.assert_allclose(lb, [[0.1, 0.05], [0.5, 0.5], [0.25, 0.25]])       # / longer side
    st = dataset_box_shapes(ds, letterbox=False)
    np.testing.assert_allclose(st, [[0.1, 0.1], [0.5, 1.0], [0.5, 0.25]])         # / width, / height
    assert len(dataset_box_shapes(ds, keep_difficult=True)) == 4
    # the same pixel box gives a different anchor in the two modes
    fit_lb, fit_st = kmeans_anchors(lb[:1], 1), kmeans_anchors(st[:1], 1)
    np.testing.assert_allclose(to_grid(fit_lb.anchors_norm, 416), [[1.3, 0.65]])
    np.testing.assert_allclose(to_grid(fit_st.anchors_norm, 416), [[1.3, 1.3]])


# ------------------------------------------------------------------------------------------ k-means
@pytest.mark.parametrize("fit_fn", [kmeans_anchors, kmeans_euclidean])
def test_known_answer_three_shapes(fit_fn):
    shapes = three_clusters(200)
    fit = fit_fn(shapes, 3, restarts=3, seed=0)
    assert isinstance(fit, AnchorFit)
    np.testing.assert_allclose(fit.anchors_norm, TRUE_SHAPES, rtol=0.01)
    assert fit.mean_iou > 0.94
    assert fit.mean_iou == pytest.approx(mean_best_iou(shapes, fit.anchors_norm), abs=1e-12)
    np.testing.assert_array_equal(fit.assignments, np.repeat([0, 1, 2], 200))


def test_compressed_path_recovers_the_shapes_and_reports_the_exact_iou():
    shapes = three_clusters(10_000, seed=1)                 # 30,000 boxes > compress_above
    fit = kmeans_anchors(shapes, 3, restarts=2, seed=0, compress_above=1000)
    np.testing.assert_allclose(fit.anchors_norm, TRUE_SHAPES, rtol=0.01)
    assert fit.mean_iou == pytest.approx(mean_best_iou(shapes, fit.anchors_norm), abs=1e-12)
    exact = kmeans_anchors(shapes, 3, restarts=2, seed=0, compress_above=None)
    assert fit.mean_iou == pytest.approx(exact.mean_iou, abs=1e-3)
    assert fit.assignments.shape == (30_000,)


def test_iou_kmeans_beats_euclidean_on_mixed_scales():
    # many small boxes and a few large ones: Euclidean k-means spends its centres on the large ones
    rng = np.random.default_rng(3)
    small = np.exp(rng.normal(np.log([0.03, 0.05]), 0.4, (900, 2)))
    large = np.exp(rng.normal(np.log([0.6, 0.5]), 0.3, (100, 2))).clip(max=1.0)
    shapes = np.concatenate([small, large])
    iou_fit, eu_fit = kmeans_anchors(shapes, 3, seed=0), kmeans_euclidean(shapes, 3, seed=0)
    assert iou_fit.mean_iou > eu_fit.mean_iou + 0.05


def test_sorted_by_area_and_assignments_follow():
    shapes = three_clusters(50)[::-1]                     # large shapes first
    fit = kmeans_anchors(shapes, 3, restarts=1)
    areas = fit.anchors_norm.prod(axis=1)
    assert np.all(np.diff(areas) > 0)
    np.testing.assert_array_equal(fit.assignments, shape_iou(shapes, fit.anchors_norm).argmax(axis=1))


def test_deterministic_with_a_seed():
    rng = np.random.default_rng(7)
    shapes = np.exp(rng.normal(np.log(0.2), 0.8, (3000, 2))).clip(1e-3, 1.0)
    a = kmeans_anchors(shapes, 5, restarts=3, seed=11)
    b = kmeans_anchors(shapes, 5, restarts=3, seed=11)
    np.testing.assert_array_equal(a.anchors_norm, b.anchors_norm)
    np.testing.assert_array_equal(a.assignments, b.assignments)
    assert a.mean_iou == b.mean_iou
    for seed in (0, 1, 2):  # other seeds may find other anchors, but always valid ones
        c = kmeans_anchors(shapes, 5, restarts=1, seed=seed)
        assert c.anchors_norm.shape == (5, 2) and np.all(np.diff(c.anchors_norm.prod(axis=1)) >= 0)
        assert 0 < c.mean_iou <= 1
        assert c.mean_iou == pytest.approx(mean_best_iou(shapes, c.anchors_norm), abs=1e-12)


def test_restarts_keep_the_best():
    rng = np.random.default_rng(5)
    shapes = np.exp(rng.normal(np.log(0.2), 0.9, (800, 2))).clip(1e-3, 1.0)
    ones = np.ones(len(shapes))
    single = []
    for r in range(6):  # restart r is k-means++ from default_rng([seed, r]) then Lloyd
        init = _kmeanspp(shapes, ones, 6, _restart_rng(4, r), _iou_cost, 2.0)
        single.append(1 - _lloyd(shapes, ones, init, 300, _iou_cost)[1])
    assert len({round(x, 9) for x in single}) > 1          # the restarts do land in different optima
    fit = kmeans_anchors(shapes, 6, restarts=6, seed=4)
    assert fit.mean_iou == pytest.approx(max(single), abs=1e-12)
    assert fit.mean_iou >= kmeans_anchors(shapes, 6, restarts=1, seed=4).mean_iou


def test_empty_cluster_is_reseeded_with_the_worst_fitting_box():
    points = np.array([[1.0, 1.0]] * 5 + [[1.1, 1.0], [10.0, 10.0], [0.2, 5.0]])
    ones = np.ones(len(points))
    # two identical centroids: every box goes to the first (ties: lower index), the others are empty
    init = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    assign, cost = _iou_cost(points, init)
    assert assign.tolist() == [0] * 8
    c, reseeded = _update(points, ones, assign, cost, init)
    assert reseeded
    np.testing.assert_allclose(c[0], points.mean(axis=0))
    np.testing.assert_array_equal(c[1:], [[10.0, 10.0], [0.2, 5.0]])   # the worst fit, then the next worst
    np.testing.assert_allclose(_update(points, ones, np.array([0] * 6 + [1, 2]), cost, c)[0],
                               [[6.1 / 6, 1.0], [10.0, 10.0], [0.2, 5.0]])
    # through Lloyd: from the duplicated centroids to the three true groups
    c, mean_cost = _lloyd(points, ones, init, 50, _iou_cost)
    np.testing.assert_allclose(c[np.argsort(c.prod(axis=1))], [[0.2, 5.0], [6.1 / 6, 1.0], [10.0, 10.0]])
    assert mean_cost == pytest.approx(1 - mean_best_iou(points, c), abs=1e-12)


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("shapes, k, message", [
    (np.zeros((0, 2)), 3, "no boxes"),
    (np.array([[0.1, 0.1], [0.2, 0.2], [0.1, 0.1]]), 3, "only 2 distinct"),
    (np.array([[0.1, 0.1], [0.2, 0.2]]), 0, "k must be"),
    (np.array([[0.1, 0.1], [0.2, 0.2]]), -1, "k must be"),
    (np.array([[0.1, 0.0], [0.2, 0.2]]), 1, "positive"),
    (np.array([[0.1, np.nan], [0.2, 0.2]]), 1, "finite"),
    (np.array([0.1, 0.2, 0.3]), 1, "(N, 2)"),
])
def test_bad_input(shapes, k, message):
    with pytest.raises(Yolo9000Error, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        kmeans_anchors(shapes, k, source="my.yaml [train]")
    assert str(e.value).startswith("my.yaml [train]: ") and "\n" not in str(e.value)


# ------------------------------------------------------------------------------------------ COCO JSON
def write_coco(path: Path, with_sizes: bool, crowd: bool = False) -> Path:
    images = [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg"}]
    if with_sizes:
        images[0].update(width=400, height=200)
        images[1].update(width=100, height=300)
    anns = [{"id": 1, "image_id": 1, "bbox": [10, 10, 40, 20], "category_id": 1, "iscrowd": 0},
            {"id": 2, "image_id": 1, "bbox": [100, 50, 100, 100], "category_id": 1, "iscrowd": int(crowd)},
            {"id": 3, "image_id": 2, "bbox": [0, 0, 50, 60], "category_id": 1, "iscrowd": 0}]
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [{"id": 1, "name": "x"}]}))
    return path


def test_boxes_from_coco_json_sizes(tmp_path):
    b = boxes_from_coco_json(write_coco(tmp_path / "s.json", True))
    np.testing.assert_allclose(b.wh_px, [[40, 20], [100, 100], [50, 60]])
    np.testing.assert_allclose(b.normalised(), [[0.1, 0.05], [0.25, 0.25], [50 / 300, 0.2]])
    np.testing.assert_allclose(b.normalised(letterbox=False), [[0.1, 0.1], [0.25, 0.5], [0.5, 0.2]])
    assert "2 from the JSON" in b.sizes_note and b.images == 2
    # no sizes in the JSON: the boxes' extents (largest x2, y2 per image), and the note says so
    e = boxes_from_coco_json(write_coco(tmp_path / "e.json", False))
    np.testing.assert_allclose(e.image_wh_px, [[200, 150], [200, 150], [50, 60]])
    assert "extents" in e.sizes_note
    # sizes given by image id or by file_name
    g = boxes_from_coco_json(tmp_path / "e.json", sizes={1: (400, 200), "b.jpg": (100, 300)})
    np.testing.assert_allclose(g.normalised(), b.normalised())
    assert "2 from the given sizes" in g.sizes_note
    with pytest.raises(Yolo9000Error, match=r"e\.json: image 2 \(b\.jpg\): not in the given sizes"):
        boxes_from_coco_json(tmp_path / "e.json", sizes={1: (400, 200)})
    # crowd boxes: kept by default (as the trainer keeps them), dropped on request
    c = tmp_path / "c.json"
    assert len(boxes_from_coco_json(write_coco(c, True, crowd=True))) == 3
    assert len(boxes_from_coco_json(c, keep_crowd=False)) == 2


def test_boxes_from_coco_json_bad_files(tmp_path):
    with pytest.raises(Yolo9000Error, match="missing.json: no such COCO JSON"):
        boxes_from_coco_json(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(Yolo9000Error, match="bad.json: not valid JSON"):
        boxes_from_coco_json(bad)
    bad.write_text(json.dumps({"images": []}))
    with pytest.raises(Yolo9000Error, match="no 'annotations' list"):
        boxes_from_coco_json(bad)
    bad.write_text(json.dumps({"annotations": [{"image_id": 1, "bbox": [0, 0, 0, 5]}]}))
    with pytest.raises(Yolo9000Error, match="box with no area"):
        boxes_from_coco_json(bad)


# ------------------------------------------------------------------------------------------ study
def test_study_rows():
    shapes = three_clusters(40)
    rows = anchor_study(shapes, ks=(1, 2, 3), restarts=2)
    assert [(r.method.split(",")[0], r.k) for r in rows] == [
        ("k-means", 1), ("k-means", 2), ("k-means", 3), ("k-means", 5), ("k-means", 9),
        ("darknet yolov2-voc.cfg anchors", 5), ("darknet yolo-voc.2.0.cfg anchors (paper era)", 5)]
    iou = [r.mean_iou for r in rows[:3]]
    assert iou[0] < iou[1] < iou[2] and iou[2] > 0.94
    assert rows[-1].mean_iou == pytest.approx(mean_best_iou(shapes, from_grid(YOLO_VOC_2_0_ANCHORS_GRID, 416)))
    table = study_markdown(rows)
    assert table.splitlines()[0].startswith("| box generation | k | mean IoU |") and len(table.splitlines()) == 9
    # k above the number of distinct shapes is left out
    assert [r.k for r in anchor_study(shapes[:4], ks=(1, 5), euclid_ks=(5,), restarts=1)][:1] == [1]


# ------------------------------------------------------------------------------------------ dataset + CLI
def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="yolo9000")
    add_anchors_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["anchors", *argv])


def test_cli_anchors_on_raccoon(tmp_path, capsys):
    out_json, out_png = tmp_path / "anchors.json", tmp_path / "anchors.png"
    assert cmd_anchors(_args("--data", str(RACCOON_YAML), "-k", "4", "--restarts", "3", "--seed", "1",
                             "--json", str(out_json), "--plot", str(out_png))) == 0
    d = json.loads(out_json.read_text())
    assert {"anchors", "mean_iou", "k", "imgsz"} <= set(d)
    assert d["k"] == 4 and d["imgsz"] == 416 and d["letterbox"] is True and d["num_boxes"] == 173
    assert 0 < d["mean_iou"] <= 1
    a = np.array(d["anchors"])
    assert a.shape == (4, 2) and np.all(np.diff(a.prod(axis=1)) > 0) and np.all((a > 0) & (a <= 13))
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    cfg = next(line for line in out.splitlines() if line.startswith("cfg [region]:"))
    assert cfg.split(":", 1)[1].strip() == format_cfg_anchors(a)
    assert f"{d['mean_iou']:.4f}" in out
    # the same numbers through the trainer's API: flat grid-cell anchors, RegionSpec.anchors' convention
    flat = anchors_for_dataset(RACCOON_YAML, 4, 416, restarts=3, seed=1)
    assert isinstance(flat, tuple) and len(flat) == 8 and all(isinstance(v, float) for v in flat)
    np.testing.assert_allclose(flat, a.ravel(), rtol=1e-12)
    # a stride-16 network's cells are half as large: the same anchors count twice as many of them
    np.testing.assert_allclose(anchors_for_dataset(RACCOON_YAML, 4, 416, restarts=3, seed=1, stride=16),
                               2 * np.asarray(flat), rtol=1e-12)
    shapes = dataset_box_shapes(load_dataset(RACCOON_YAML, "train"))
    assert shapes.shape == (173, 2) and np.all((shapes > 0) & (shapes <= 1))
    assert d["mean_iou"] == pytest.approx(mean_best_iou(shapes, from_grid(flat, 416)), abs=1e-12)


def test_cli_study_on_coco_json(tmp_path, capsys):
    j = write_coco(tmp_path / "gt.json", False)
    out_json, out_png = tmp_path / "study.json", tmp_path / "study.png"
    assert cmd_anchors(_args("--study", "--coco-json", str(j), "--restarts", "1", "--no-letterbox",
                             "--json", str(out_json), "--plot", str(out_png))) == 0
    d = json.loads(out_json.read_text())
    assert [r["k"] for r in d["study"]] == [1, 2, 3, 5, 5]   # 3 distinct shapes: k <= 3 only, then darknet's
    assert d["letterbox"] is False and "extents" in d["image_sizes"]
    assert d["study"][2]["mean_iou"] == pytest.approx(1.0)
    assert out_png.read_bytes()[:4] == b"\x89PNG"
    out = capsys.readouterr().out
    assert "| box generation | k | mean IoU |" in out and "extents" in out


def test_cli_errors(tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": []}))
    with pytest.raises(Yolo9000Error, match=r"empty\.json: no boxes to cluster"):
        cmd_anchors(_args("--coco-json", str(empty)))
    j = write_coco(tmp_path / "gt.json", True)
    with pytest.raises(Yolo9000Error, match=r"gt\.json: k=5 anchors asked for, but the 3 boxes have only 3"):
        cmd_anchors(_args("--coco-json", str(j)))
    with pytest.raises(Yolo9000Error, match="^-k 0: must be at least 1$"):
        cmd_anchors(_args("--coco-json", str(j), "-k", "0"))
    with pytest.raises(Yolo9000Error, match="multiple of 32"):
        cmd_anchors(_args("--coco-json", str(j), "--imgsz", "400"))
    with pytest.raises(SystemExit):
        _args("-k", "3")  # neither --data nor --coco-json
