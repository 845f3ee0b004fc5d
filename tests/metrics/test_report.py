"""``yolo9000 score``: tables and JSON against the reference numbers."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from yolo9000.cli.app import main

from ..conftest import SHARED

METRICS = SHARED / "reference" / "metrics"


def _score(tmp_path: Path, case: str, *extra: str) -> dict:
    out = tmp_path / "out.json"
    rc = main(["score", "--gt", str(METRICS / case / "gt_coco.json"), "--dets", str(METRICS / case / "det_coco.json"),
               "--json", str(out), *extra])
    assert rc == 0
    return json.loads(out.read_text())


@pytest.mark.parametrize("metric,key", [("voc07", "voc07_11pt"), ("voc", "voc_area")])
@pytest.mark.parametrize("plus1", [True, False])
def test_score_voc_json(tmp_path: Path, capsys, metric: str, key: str, plus1: bool) -> None:
    case = "padilla_odm_sample"
    got = _score(tmp_path, case, "--metric", metric, "--iou", "0.3", *([] if plus1 else ["--no-plus1"]))
    exp = json.loads((METRICS / case / "expected.json").read_text())["voc"][f"{key}_{'plus1' if plus1 else 'noplus1'}_iou0.3"]
    assert got["metric"] == metric
    assert abs(got["mAP"] - exp["mAP_classes_with_gt"]) <= 1e-9
    for name, ap in exp["per_class_AP"].items():
        assert abs(got["per_class"][name] - ap) <= 1e-9
    table = capsys.readouterr().out
    assert ("11-point" if metric == "voc07" else "area AP") in table and "IoU > 0.3" in table


def test_score_coco_json(tmp_path: Path, capsys) -> None:
    case = "coco_val2014_100_fakebbox"
    got = _score(tmp_path, case, "--metric", "coco")
    exp = json.loads((METRICS / case / "expected.json").read_text())["coco"]
    assert got["metric"] == "coco" and list(got["stats"]) == list(exp["stats"])
    for k, v in exp["stats"].items():
        assert abs(got["stats"][k] - v) <= 1e-9, k
    for name, ap in exp["per_class_AP"].items():
        assert abs(got["per_class"][name] - ap) <= 1e-9, name
    assert "COCO AP" in capsys.readouterr().out


def test_score_bad_inputs(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    gt = str(METRICS / "torchmetrics_inputs4" / "gt_coco.json")
    assert main(["score", "--gt", str(bad), "--dets", gt]) == 2
    assert "bad.json: malformed JSON (line 1" in capsys.readouterr().err
    other = tmp_path / "dets.json"
    other.write_text(json.dumps([{"image_id": 999, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]))
    assert main(["score", "--gt", gt, "--dets", str(other)]) == 2
    err = capsys.readouterr().err
    assert "dets.json: detection 0: image_id 999 is not in the ground truth" in err and err.count("\n") == 1
    assert main(["score", "--gt", gt, "--dets", str(tmp_path / "none.json")]) == 2
    assert "none.json: no such JSON file" in capsys.readouterr().err


def test_pr_plot_without_any_curve_warns_nothing(tmp_path) -> None:
    """A model that detects nothing yet (early in training) gets an empty PR plot, not a matplotlib warning."""
    import warnings

    import numpy as np

    from yolo9000.metrics.plots import plot_pr_curves

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = plot_pr_curves([np.zeros(0)], [np.zeros(0)], np.array([0.0]), ["raccoon"], tmp_path / "pr.png")
    assert out.stat().st_size > 0
