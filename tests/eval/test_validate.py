"""``val``: darknet's validation settings, the +1 VOC convention, saved outputs, and the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from yolo9000 import YOLO
from yolo9000.cli.app import main
from yolo9000.errors import Yolo9000Error
from yolo9000.eval.validate import validate
from yolo9000.metrics import load_detections
from yolo9000.metrics.report import evaluate
from yolo9000.metrics.structures import ground_truth_from_coco, ground_truth_to_coco
from yolo9000.predict.results import Results

ROOT = Path(__file__).resolve().parents[2]
RACCOON = ROOT / "data" / "raccoon.yaml"

ONE_CLASS_CFG = """[net]
width=64
height=64
channels=3
[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky
[maxpool]
size=2
stride=2
[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky
[maxpool]
size=2
stride=2
[maxpool]
size=2
stride=2
[maxpool]
size=2
stride=2
[convolutional]
filters=12
size=1
stride=1
pad=1
activation=linear
[region]
anchors=1,1,3,3
classes=1
num=2
coords=4
softmax=1
"""


@pytest.fixture(scope="module")
def one_class(tmp_path_factory) -> YOLO:
    cfg = tmp_path_factory.mktemp("cfg") / "one.cfg"
    cfg.write_text(ONE_CLASS_CFG)
    torch.manual_seed(0)
    return YOLO(cfg)


def perfect_predict(yolo: YOLO, truth: dict[str, np.ndarray]):
    """A stand-in for ``predict`` that returns each image's ground truth in 0-based pixels."""
    def predict(source, **kwargs):
        for path in source:
            from PIL import Image

            w, h = Image.open(path).size
            boxes = torch.from_numpy(truth[str(path)] - 1.0).float()  # VOC XML corners are 1-based
            n = len(boxes)
            yield Results(boxes, torch.full((n,), 0.9), torch.zeros(n, dtype=torch.int64), yolo.names, str(path), (h, w))
    return predict


def test_the_report_of_a_validation_reads_as_ultralytics_metrics(one_class: YOLO) -> None:
    v = validate(one_class, RACCOON, split="val", imgsz=64, max_images=5, conf_report=0.01)
    assert v.box.map50 == v.mAP == v.summary.totals["ap"] and v.settings["conf_report"] == 0.01
    assert v.summary.conf == 0.01 and v.summary.tp.sum() + v.summary.fp.sum() == (v.dets.scores > 0.01).sum()


def test_validate_takes_a_yolo_or_its_predictor(one_class: YOLO) -> None:
    """validate() scores what the predictor a YOLO holds predicts: the same detections either way."""
    a = validate(one_class, RACCOON, split="val", imgsz=64, max_images=3)
    b = validate(one_class.predictor, RACCOON, split="val", imgsz=64, max_images=3)
    assert len(a.dets) > 0 and a.settings == b.settings
    for field in ("image_index", "label", "boxes_xywh", "scores"):
        assert np.array_equal(getattr(a.dets, field), getattr(b.dets, field))


@pytest.mark.parametrize("metric", ["voc07", "voc", "coco"])
def test_perfect_detector_scores_one(one_class: YOLO, monkeypatch, metric: str) -> None:
    from yolo9000.datasets import load_dataset

    ds = load_dataset(RACCOON, "val")
    truth = {str(r.image): np.asarray(r.boxes_xyxy, float) for r in ds.records}
    monkeypatch.setattr(one_class.predictor, "predict", perfect_predict(one_class, truth))
    v = one_class.val(RACCOON, split="val", metric=metric)
    assert v.mAP == pytest.approx(1.0, abs=1e-12)
    # the model's own size (its cfg's [net] width, 64), not a fixed 416
    assert v.settings["images"] == 40 and "letterbox 64" in v.protocol and "objectness > 0.005" in v.protocol


def test_val_writes_outputs_that_score_the_same(one_class: YOLO, tmp_path: Path) -> None:
    v = one_class.val(RACCOON, split="val", metric="voc07", imgsz=64, save_dir=tmp_path / "run",
                      save_json=tmp_path / "dets.json", save_voc=tmp_path / "voc")
    for name in ("pr_curves.png", "confusion_matrix.png", "recall_at_proposals.png", "results.json"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    comp4 = (tmp_path / "voc" / "comp4_det_test_raccoon.txt").read_text().splitlines()
    assert len(comp4) == len(v.dets)
    stem, score, *box = comp4[0].split()
    assert stem.startswith("raccoon-") and 0.005 < float(score) <= 1 and float(box[0]) >= 1.0
    # the saved COCO results, scored on their own, give the same numbers
    gt = ground_truth_from_coco(ground_truth_to_coco(v.gt))
    again = evaluate(gt, load_detections(tmp_path / "dets.json", gt), "voc07")
    assert again.mAP == pytest.approx(v.mAP, abs=1e-9)
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["metric"] == "voc07" and saved["mAP"] == pytest.approx(v.mAP, abs=1e-12)


def test_val_refuses_wrong_class_count(tiny_voc_weights) -> None:
    with pytest.raises(Yolo9000Error, match=r"raccoon\.yaml: 1 classes in the dataset, the model predicts 20"):
        YOLO("yolov2-tiny-voc", tiny_voc_weights).val(RACCOON)


def test_val_cli(one_class: YOLO, tmp_path: Path, capsys, monkeypatch) -> None:
    ckpt = tmp_path / "one.pt"
    one_class.save(ckpt)
    out = tmp_path / "val.json"
    monkeypatch.chdir(tmp_path)  # the plots' default folder: ./runs/val
    rc = main(["val", "--data", str(RACCOON), "--model", str(ckpt), "--imgsz", "64", "--metric", "voc",
               "--json", str(out), "--quiet"])
    assert rc == 0
    printed = capsys.readouterr().out.splitlines()
    assert "VOC2010+ area AP" in printed[0] and printed[2].split()[:3] == ["class", "images", "instances"]
    got = json.loads(out.read_text())
    assert got["metric"] == "voc" and set(got["per_class"]) == {"raccoon"} and "protocol" in got
    # the per-class report: the working point at --conf-report, the metric's AP beside COCO's
    plots = sorted(p.name for p in (tmp_path / "runs" / "val").iterdir())  # written by default, as Ultralytics
    assert "confusion_matrix.png" in plots and "pr_curves.png" in plots
    assert main(["val", "--data", str(RACCOON), "--model", str(ckpt), "--imgsz", "64", "--quiet"]) == 0
    assert (tmp_path / "runs" / "val2").is_dir()  # a fresh folder each time
    assert main(["val", "--data", str(RACCOON), "--model", str(ckpt), "--imgsz", "64", "--quiet", "--no-plots"]) == 0
    assert not (tmp_path / "runs" / "val3").exists()
    report = got["report"]
    assert report["conf"] == 0.25 and set(report["per_class"]) == {"raccoon"}
    assert report["all"]["ap"] == got["mAP"] and report["all"]["images"] == 40
    assert report["all"]["tp"] + report["all"]["fn"] == report["all"]["instances"] > 40


def test_val_at_several_sizes_scores_each_as_a_single_val(one_class: YOLO, tmp_path: Path, capsys,
                                                            monkeypatch) -> None:
    """``val --imgsz 64 96 128``: each row's mAP is what ``val`` at that one size gives; the table, JSON
    and the speed/accuracy plot are written; bad sizes and per-size outputs are one-line errors."""
    from yolo9000.eval.validate import format_sizes, validate_sizes

    rows = validate_sizes(one_class, RACCOON, [64, 96, 128], metric="voc07", save_dir=tmp_path / "sizes")
    assert [r.imgsz for r in rows] == [64, 96, 128] and all(r.images == 40 and r.seconds > 0 for r in rows)
    for r in rows:
        assert r.mAP == pytest.approx(one_class.val(RACCOON, imgsz=r.imgsz).mAP, abs=1e-12)
    assert (tmp_path / "sizes" / "sizes.png").stat().st_size > 0
    saved = json.loads((tmp_path / "sizes" / "sizes.json").read_text())
    assert [s["imgsz"] for s in saved] == [64, 96, 128] and saved[1]["mAP"] == pytest.approx(rows[1].mAP)
    table = format_sizes(rows).splitlines()
    assert table[0] == "| imgsz | mAP (voc07) | images/s | ms/image |" and table[3].startswith(f"| 96 | {rows[1].mAP:.4f} |")
    ckpt = tmp_path / "one.pt"
    one_class.save(ckpt)
    out = tmp_path / "sizes.json"
    monkeypatch.chdir(tmp_path)  # its plot's default folder: ./runs/val
    assert main(["val", "--data", str(RACCOON), "--model", str(ckpt), "--imgsz", "64", "128", "--json", str(out),
                 "--quiet"]) == 0
    assert (tmp_path / "runs" / "val" / "sizes.png").is_file()
    printed = capsys.readouterr()
    assert printed.out.splitlines()[2].startswith(f"| 64 | {rows[0].mAP:.4f} |") and "40 images per size" in printed.err
    assert [r["imgsz"] for r in json.loads(out.read_text())] == [64, 128]
    for argv, msg in ((["--imgsz", "64", "100"], "imgsz 100: each size must be a positive multiple of 32"),
                      (["--imgsz", "64", "64"], "give one or more different sizes"),
                      (["--imgsz", "64", "96", "--save-coco", str(tmp_path / "c.json")], "give one --imgsz")):
        assert main(["val", "--data", str(RACCOON), "--model", str(ckpt), "--quiet", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("yolo9000: error: ") and msg in err[-1], err
