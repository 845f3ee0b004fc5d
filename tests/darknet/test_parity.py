"""Parity with the original C darknet over every case in ../shared/reference/darknet/cases/.

Each case: the letterboxed input, the activated head, every stored layer, the detections before and
after NMS, and Darknet-19's top-5. Decoding darknet's own head output must reproduce its detections
exactly; our own float32 forward must reproduce them up to float32 rounding inside the network.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import torch

from yolo9000.darknet.cfg import parse_cfg
from yolo9000.models.darknet import Darknet
from yolo9000.ops.letterbox import letterbox
from yolo9000.ops.region import Detections, decode_activated, region_activate, region_detections
from yolo9000.darknet.weights import load_darknet_weights
from yolo9000.wordtree.tree import WordTree, absolute_probs, load_tree

from tests.conftest import REFERENCE

CASES = sorted(p.name for p in (REFERENCE / "cases").iterdir()) if (REFERENCE / "cases").is_dir() else []
CFG_OF = {"yolov2-voc": "yolov2-voc", "yolov2": "yolov2", "yolov2-tiny-voc": "yolov2-tiny-voc",
          "yolo9000": "yolo9000", "darknet19": "darknet19"}
THRESH, NMS, HIER = 0.005, 0.45, 0.5
OUTPUT_TOL = 2e-4   # activated head, float32 (the bound)
PROB_TOL = 1e-4     # detection probabilities
CORNER_TOL = 0.15   # pixels


def test_all_cases_present() -> None:
    assert len(CASES) == 6, CASES


def case_info(case: str) -> tuple[str, int, str]:
    """'yolov2-tiny-voc_416_dog_oldheader' -> (cfg name, size, weights file name)."""
    parts = case.split("_")
    name, size = parts[0], int(parts[1])
    weights = name + (".oldheader" if case.endswith("_oldheader") else "")
    return name, size, weights


@lru_cache(maxsize=2)
def _model(name: str, weights: str, weights_dir: str) -> Darknet:
    model = Darknet(parse_cfg(REFERENCE / "cfg" / f"{CFG_OF[name]}.cfg")).eval()
    load_darknet_weights(model, Path(weights_dir) / f"{weights}.weights")
    return model


@lru_cache(maxsize=2)
def _forward(case: str, weights_dir: str) -> torch.Tensor:
    name, _, weights = case_info(case)
    x = torch.from_numpy(np.load(REFERENCE / "cases" / case / "input.npy"))
    with torch.inference_mode():
        return _model(name, weights, weights_dir)(x)


def _tree(model: Darknet) -> WordTree | None:
    return load_tree(model.config.tree) if model.config.tree else None


def _read_dets(path: Path) -> dict[tuple[int, int], tuple[float, np.ndarray]]:
    with open(path) as f:
        return {(int(r["det_index"]), int(r["class"])):
                (float(r["prob"]), np.array([float(r[k]) for k in ("x1", "y1", "x2", "y2")]))
                for r in csv.DictReader(f)}


def _as_dict(d: Detections) -> dict[tuple[int, int], tuple[float, np.ndarray]]:
    return {(int(i), int(c)): (float(s), b.numpy().astype(np.float64))
            for i, c, s, b in zip(d.det_index, d.class_ids, d.scores, d.boxes_xyxy)}


def _detections(act: torch.Tensor, model: Darknet, case_dir: Path, size: int) -> Detections:
    h, w = np.load(case_dir / "image_u8.npy").shape[:2]
    pred = decode_activated(act, torch.tensor(model.config.region.anchors_grid))
    return region_detections(pred, 0, w, h, size, size, THRESH, NMS, _tree(model), HIER)


@pytest.mark.parametrize("case", CASES)
def test_letterbox_matches_darknet_input(case: str, reference_dir: Path) -> None:
    _, size, _ = case_info(case)
    d = reference_dir / "cases" / case
    x = letterbox(np.load(d / "image_u8.npy"), size)
    ref = np.load(d / "input.npy")[0]
    assert x.shape == ref.shape
    assert np.abs(x.numpy() - ref).max() <= 1e-6


@pytest.mark.parametrize("case", CASES)
def test_head_output_matches(case: str, reference_dir: Path, weights_dir: Path) -> None:
    name, _, weights = case_info(case)
    model = _model(name, weights, str(weights_dir))
    raw = _forward(case, str(weights_dir))
    ref = np.load(reference_dir / "cases" / case / "output.npy")
    if model.config.region is not None:
        act = region_activate(raw, model.config.region.num, _tree(model))
    else:
        act = torch.softmax(raw, dim=1)
    assert act.shape == ref.shape
    assert np.abs(act.numpy() - ref).max() <= OUTPUT_TOL


@pytest.mark.parametrize("case", [c for c in CASES if "darknet19" in c or "voc_416_dog" == c[-11:]])
def test_stored_layers_match(case: str, reference_dir: Path, weights_dir: Path) -> None:
    """Every single-layer output darknet stored, for bisecting: agreement relative to the layer's scale."""
    name, _, weights = case_info(case)
    model = _model(name, weights, str(weights_dir))
    d = reference_dir / "cases" / case
    outs: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: outs.append(o)) for m in model.layers]
    try:
        with torch.inference_mode():
            model(torch.from_numpy(np.load(d / "input.npy")))
    finally:
        for h in hooks:
            h.remove()
    files = sorted(d.glob("layer_*.npy"))
    assert files
    for f in files:
        i = int(f.name.split("_")[1])
        ref = np.load(f)
        out = outs[i]
        if i == len(model.layers) - 1:  # heads hold raw values; darknet stores them activated
            region = model.config.region
            out = region_activate(out, region.num, _tree(model)) if region else torch.softmax(out, dim=1)
        ours = out.numpy().reshape(ref.shape)
        scale = max(1.0, float(np.abs(ref).max()))
        assert np.abs(ours - ref).max() <= 2e-4 * scale, f.name


def _detector_cases() -> list[str]:
    return [c for c in CASES if "darknet19" not in c]


@pytest.mark.parametrize("case", _detector_cases())
def test_decoding_darknet_output_is_exact(case: str, reference_dir: Path, weights_dir: Path) -> None:
    """From darknet's own activated head, our decode + top-down + NMS reproduce dets.csv exactly."""
    name, size, weights = case_info(case)
    model = _model(name, weights, str(weights_dir))
    d = reference_dir / "cases" / case
    act = torch.from_numpy(np.load(d / "output.npy"))
    ours = _as_dict(_detections(act, model, d, size))
    ref = _read_dets(d / "dets.csv")
    assert set(ours) == set(ref)
    for k, (p, box) in ref.items():
        assert abs(ours[k][0] - p) <= 1e-6
        assert np.abs(ours[k][1] - box).max() <= 2e-3


@pytest.mark.parametrize("case", _detector_cases())
def test_boxes_before_nms_match(case: str, reference_dir: Path) -> None:
    """boxes_prenms.npy: every box in original-image pixels, and objectness above the threshold."""
    name, size, _ = case_info(case)
    d = reference_dir / "cases" / case
    config = parse_cfg(reference_dir / "cfg" / f"{CFG_OF[name]}.cfg")
    h, w = np.load(d / "image_u8.npy").shape[:2]
    pred = decode_activated(torch.from_numpy(np.load(d / "output.npy")), torch.tensor(config.region.anchors_grid))
    from yolo9000.ops.letterbox import unletterbox_cxcywh

    boxes = unletterbox_cxcywh(pred.boxes_cxcywh_norm[0], w, h, size, size).numpy()
    ref = np.load(d / "boxes_prenms.npy")
    obj = pred.objectness[0].numpy()
    assert np.abs(boxes - ref[:, :4]).max() <= 2e-3
    np.testing.assert_allclose(np.where(obj > THRESH, obj, 0), ref[:, 4], atol=1e-7)


def _tie_explains(ref_out: np.ndarray, tree: WordTree | None, det_index: int, ours: int, theirs: int,
                  a_per: int, grid: int) -> bool:
    """A class that differs is allowed only where darknet's own probabilities tie within OUTPUT_TOL:
    two siblings whose absolute probabilities differ by less than it, or a walk step whose product sits
    within it of the hierarchy threshold."""
    a, cell = divmod(det_index, grid * grid)
    row, col = divmod(cell, grid)
    probs = torch.from_numpy(ref_out[0, a * a_per + 5:(a + 1) * a_per, row, col].copy())
    if tree is None:
        return False
    absolute = absolute_probs(probs, tree)
    siblings = bool(tree.parent[ours] == tree.parent[theirs])
    if siblings and abs(float(absolute[ours] - absolute[theirs])) < OUTPUT_TOL:
        return True
    child = ours if int(tree.parent[ours]) == theirs else theirs if int(tree.parent[theirs]) == ours else -1
    if child >= 0:
        p = float(absolute[child]) * float(absolute[int(tree.parent[child])])
        return abs(p - HIER) < OUTPUT_TOL
    return False


@pytest.mark.parametrize("case", _detector_cases())
def test_end_to_end_detections_match(case: str, reference_dir: Path, weights_dir: Path) -> None:
    """Our float32 forward -> detections: the same (box, class) set, probabilities to 1e-4, corners to
    0.15 px. The only tolerated difference is a class flipped by a near-tie in darknet's own output (at
    most one per case; YOLO9000's box 57 has top-level nodes 0 and 3 at 0.314266 vs 0.314261)."""
    name, size, weights = case_info(case)
    model = _model(name, weights, str(weights_dir))
    tree = _tree(model)
    d = reference_dir / "cases" / case
    raw = _forward(case, str(weights_dir))
    ours = _as_dict(_detections(region_activate(raw, model.config.region.num, tree), model, d, size))
    ref = _read_dets(d / "dets.csv")
    ref_out = np.load(d / "output.npy")
    only_ours, only_ref = set(ours) - set(ref), set(ref) - set(ours)
    assert {i for i, _ in only_ours} == {i for i, _ in only_ref}, "different boxes survive"
    assert len(only_ours) <= 1
    for (i, c_ours), (_, c_ref) in zip(sorted(only_ours), sorted(only_ref)):
        a_per = 5 + model.config.num_classes
        assert _tie_explains(ref_out, tree, i, c_ours, c_ref, a_per, raw.shape[-1]), (i, c_ours, c_ref)
    for k in set(ours) & set(ref):
        assert abs(ours[k][0] - ref[k][0]) <= PROB_TOL, k
        assert np.abs(ours[k][1] - ref[k][1]).max() <= CORNER_TOL, k


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("darknet19")])
def test_darknet19_top5(case: str, reference_dir: Path, weights_dir: Path) -> None:
    raw = _forward(case, str(weights_dir))
    probs = torch.softmax(raw, dim=1)[0]
    with open(reference_dir / "cases" / case / "top5.csv") as f:
        ref = [(int(r["class"]), float(r["prob"])) for r in csv.DictReader(f)]
    top = probs.topk(5)
    assert top.indices.tolist() == [c for c, _ in ref]
    assert np.allclose(top.values.numpy(), [p for _, p in ref], atol=1e-6)


def test_oldheader_case_equals_newheader_case(reference_dir: Path) -> None:
    a = reference_dir / "cases" / "yolov2-tiny-voc_416_dog"
    b = reference_dir / "cases" / "yolov2-tiny-voc_416_dog_oldheader"
    assert np.array_equal(np.load(a / "output.npy"), np.load(b / "output.npy"))


@pytest.mark.parametrize("fuse", [True, False])
@pytest.mark.parametrize("case", ["yolov2-voc_416_dog", "yolo9000_416_dog"])
def test_predict_api_matches_darknet(case: str, fuse: bool, reference_dir: Path, weights_dir: Path) -> None:
    """``YOLO.predict`` on darknet's decoded image, with or without the fused inference copy."""
    from yolo9000 import YOLO

    name, size, weights = case_info(case)
    d = reference_dir / "cases" / case
    yolo = YOLO(reference_dir / "cfg" / f"{CFG_OF[name]}.cfg", weights_dir / f"{weights}.weights", fuse=fuse)
    hier = HIER if yolo.tree is not None else None  # the hierarchy threshold exists for WordTree heads only
    r = yolo.predict(np.load(d / "image_u8.npy"), imgsz=size, conf=THRESH, nms=NMS, hier=hier)[0]
    ours = {(int(i), int(c)): (float(s), b.numpy().astype(np.float64))
            for i, c, s, b in zip(r.det_index, r.class_ids, r.scores, r.xyxy)}
    ref = _read_dets(d / "dets.csv")
    only_ours, only_ref = set(ours) - set(ref), set(ref) - set(ours)
    assert {i for i, _ in only_ours} == {i for i, _ in only_ref} and len(only_ours) <= 1
    tree = yolo.tree
    for (i, c_ours), (_, c_ref) in zip(sorted(only_ours), sorted(only_ref)):
        assert _tie_explains(np.load(d / "output.npy"), tree, i, c_ours, c_ref, 5 + yolo.config.num_classes, 13)
    for k in set(ours) & set(ref):
        assert abs(ours[k][0] - ref[k][0]) <= PROB_TOL, k
        assert np.abs(ours[k][1] - ref[k][1]).max() <= CORNER_TOL, k
    assert r.class_names[0] == yolo.names[int(r.class_ids[0])]
