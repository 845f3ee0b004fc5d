"""Bad data at the command line (project issue 22): degenerate images, float images, cfg numbers that no network
can use, flags and duplicate keys that change meaning silently, class names that do not fit the network, and
scoring inputs that would score garbage. Same contract and runner as :mod:`tests.cli.test_bad_input`, whose
helpers build the inputs; a case with ``outcome="ok"`` is handled (exit 0, no error or warning) and checks what
it wrote in ``post``.
"""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from tests.cli.test_bad_input import (  # noqa: F401 - assets is the shared fixture
    DET_CFG, Assets, Case, W, assets, line_of, params, predict, run_case, score, score_files, train, val,
)
from yolo9000.cli.app import main

# ------------------------------------------------------------------------------------------ inputs
THIN = {"1x1000": (1, 1000), "3000x1": (3000, 1), "2x3000": (2, 3000)}


def thin_voc(w: W, size: tuple[int, int]) -> Path:
    """A flat VOC set (train = val) of one ``size`` image, one 'cat' box over its middle half."""
    iw, ih = size
    w.image("thin/images/a.png", size)
    box = (iw // 4, ih // 4, max(iw // 4 + 1, 3 * iw // 4), max(ih // 4 + 1, 3 * ih // 4))
    w.write("thin/annotations/a.xml",
            f"<annotation><filename>a.png</filename><size><width>{iw}</width><height>{ih}</height><depth>3</depth>"
            f"</size><object><name>cat</name><difficult>0</difficult><bndbox><xmin>{box[0]}</xmin><ymin>{box[1]}"
            f"</ymin><xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox></object></annotation>")
    w.write("thin/list.txt", "a\n")
    return w.write("thin/data.yaml", "path: .\nformat: voc\ntrain: list.txt\nval: list.txt\nnames: [cat]\n")


def finite_detections(path: Path) -> list[dict]:
    """The records of a predict --save-json file, checked to be detections with finite numbers."""
    records = json.loads(path.read_text())
    assert records and all(math.isfinite(v) for r in records for v in (*r["xyxy"], r["score"])), records[:3]
    return records


def predicted_thin(w: W) -> None:
    """Finite detections in the JSON, and the annotated copy drawn on the thin image itself (its own size)."""
    records = finite_detections(w.p("dets.json"))
    (drawn,) = w.p("out").glob("*.jpg")
    assert Image.open(drawn).size == Image.open(records[0]["image"]).size


def scored_finite(w: W) -> None:
    dets = json.loads(w.p("coco.json").read_text())
    assert dets and all(math.isfinite(v) for d in dets for v in (*d["bbox"], d["score"])), dets[:3]
    result = json.loads(w.p("val.json").read_text())
    assert result["mAP"] is None or math.isfinite(result["mAP"]), result


def trained(w: W) -> None:
    runs = [p for p in w.p("runs").iterdir() if p.is_dir()]
    assert len(runs) == 1 and (runs[0] / "weights" / "last.pt").is_file(), runs
    rows = (runs[0] / "results.csv").read_text().splitlines()
    assert len(rows) == 2 and "nan" not in rows[1].lower() and "inf" not in rows[1].lower(), rows


def float_tiff(w: W) -> Path:
    """A 64x48 float32 TIFF (Pillow mode F) holding a 0..1 ramp, left to right."""
    ramp = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (48, 1))
    path = w.p("ramp.tif")
    Image.fromarray(ramp, mode="F").save(path)
    return path


def drawn_ramp(w: W) -> None:
    """The annotated copy of the float ramp is the ramp in bytes (0 at the left, 255 at the right), not black."""
    out = np.asarray(Image.open(w.p("out/ramp.jpg")).convert("L"), np.float64)
    assert abs(out[:, :4].mean() - 6) < 8 and abs(out[:, -4:].mean() - 249) < 8, (out[:, :4].mean(), out[:, -4:].mean())


def checkpoint_with_names(w: W, names: Any) -> Path:
    ckpt = torch.load(w.a.pt, map_location="cpu", weights_only=True)
    ckpt["names"] = names
    path = w.p("named.pt")
    torch.save(ckpt, path)
    return path


def onnx_with_names(w: W, names: list[str]) -> Path:
    """DET_CFG (1 class) exported to ONNX, its metadata then claiming ``names`` and as many classes."""
    import onnx  # an optional dependency (export), imported where it is needed as the package does

    path = w.p("det.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["export", "--model", str(w.a.det_cfg), "--weights", str(w.a.det_weights), "--imgsz", "64",
                     "-o", str(path)]) == 0
    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == "names":
            prop.value = json.dumps(names)
        elif prop.key == "num_classes":
            prop.value = str(len(names))
    onnx.save(model, str(path))
    return path


def scored(expect_map: float | None) -> Any:
    """score --json's mAP: 1.0 when the one box counts (a perfect detection), None (n/a) when it is difficult."""
    def check(w: W) -> None:
        result = json.loads(w.p("score.json").read_text())
        assert result["mAP"] == pytest.approx(expect_map), result
    return check


def gt_with(**ann: Any) -> dict:
    """gt.json's single 'cat' box (5, 5, 20, 20) on a 64x48 image, with ``ann`` added to the annotation."""
    return {"images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [5, 5, 20, 20], "area": 400,
                             "iscrowd": 0, **ann}],
            "categories": [{"id": 1, "name": "cat"}]}


NORMALISED_GT = {"images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}],
                 "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0.1, 0.1, 0.2, 0.2]},
                                 {"id": 2, "image_id": 1, "category_id": 1, "bbox": [0.5, 0.5, 0.3, 0.25]}],
                 "categories": [{"id": 1, "name": "cat"}]}
NORMALISED_DETS = [{"image_id": 1, "category_id": 1, "bbox": [0.6, 0.1, 0.2, 0.2], "score": 0.9}]
HUGE = [1e300, 1e300, 1e300, 1e300]

YAML = "path: .\nformat: voc\ntrain: list.txt\nval: list.txt\nnames: [cat]\n"


def cfg_line(w: W, needle: str, text: str = DET_CFG) -> str:
    """``bad.cfg:N``, N the line of ``text`` (the cfg before the case's edit) that holds ``needle``."""
    return f"{w.p('bad.cfg')}:{line_of(text, needle)}"


def last_line_of(text: str, needle: str) -> int:
    """1-based number of the last line of ``text`` that contains ``needle``."""
    return max(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# ------------------------------------------------------------------------------------------ the table
CASES: list[Case] = [
    # ---------------------------------------------------------------- 8: images so thin a side letterboxes to 0 px
    *[Case(f"thin/predict-{k}", lambda w, s=s: predict(w, w.image("thin.png", s), extra=(
        "--conf", "0.001", "--save-dir", w.p("out"), "--save-json", w.p("dets.json"))),
        outcome="ok", new_ok=("out", "dets.json"), post=predicted_thin) for k, s in THIN.items()],
    *[Case(f"thin/val-{k}", lambda w, s=s: val(w, thin_voc(w, s), "--weights", w.a.det_weights, "--conf", "0.001",
                                                 "--save-coco", w.p("coco.json"), "--json", w.p("val.json")),
           outcome="ok", new_ok=("coco.json", "val.json"), post=scored_finite) for k, s in THIN.items()],
    Case("thin/train-3000x1", lambda w: train(w, thin_voc(w, THIN["3000x1"]), "--batch", "2", "--anchors", "model"),
         outcome="ok", new_ok=("runs",), post=trained),
    *[Case(f"thin/train-{k}-mse", lambda w, s=s: train(w, thin_voc(w, s), "--batch", "2", "--anchors", "model",
                                                       "--box-loss", "mse"),
           outcome="ok", new_ok=("runs",), post=trained) for k, s in THIN.items()],

    # ---------------------------------------------------------------- 11: numbers no network can run
    Case("cfg/negative-padding-info", lambda w: ["info", "--model", w.p("bad.cfg")],
         setup=lambda w: w.cfg(old="pad=1\n", new="padding=-5\n"), names=lambda w: cfg_line(w, "pad=1"),
         expect=("padding=-5",)),
    Case("cfg/negative-padding-predict", lambda w: predict(w, model=w.p("bad.cfg")),
         setup=lambda w: w.cfg(old="pad=1\n", new="padding=-5\n"), names=lambda w: cfg_line(w, "pad=1"),
         expect=("padding=-5",)),
    Case("cfg/maxpool-negative-padding", lambda w: ["info", "--model", w.p("bad.cfg")],
         setup=lambda w: w.cfg(old="[maxpool]\nsize=2\nstride=2\n", new="[maxpool]\nsize=2\nstride=2\npadding=-3\n"),
         names=lambda w: f"{w.p('bad.cfg')}:{line_of(DET_CFG, '[maxpool]') + 3}", expect=("padding=-3",)),
    Case("options/predict-imgsz-1048576", lambda w: predict(w, extra=("--imgsz", "1048576")),
         expect=("--imgsz 1048576", "8192")),
    Case("options/predict-imgsz-2**70", lambda w: predict(w, extra=("--imgsz", str(2**70))),
         expect=(f"--imgsz {2**70}", "8192")),
    Case("options/val-imgsz-16384", lambda w: val(w, w.voc(), "--weights", w.a.det_weights, "--imgsz", "16384"),
         expect=("--imgsz 16384", "8192")),
    Case("options/export-imgsz-1048576", lambda w: ["export", "--model", w.a.det_cfg, "--imgsz", "1048576",
                                                    "-o", w.p("x.onnx")], expect=("--imgsz 1048576", "8192")),

    # ---------------------------------------------------------------- 12: difficult / iscrowd as strings
    *[Case(f"score/difficult-{type(v).__name__}-{v}", lambda w: score(w, "--json", w.p("score.json")),
           setup=lambda w, v=v: score_files(w, gt=gt_with(difficult=v)), outcome="ok", new_ok=("score.json",),
           post=scored(m)) for v, m in (("0", 1.0), ("false", 1.0), ("FALSE", 1.0), ("1", None), ("True", None),
                                         (False, 1.0), (True, None), (0, 1.0))],
    Case("score/difficult-yes", lambda w: score(w), setup=lambda w: score_files(w, gt=gt_with(difficult="yes")),
         names=lambda w: w.p("gt.json"), expect=("'difficult' must be 0 or 1", "got 'yes'")),
    Case("score/difficult-2", lambda w: score(w), setup=lambda w: score_files(w, gt=gt_with(difficult=2)),
         names=lambda w: w.p("gt.json"), expect=("'difficult' must be 0 or 1", "got 2")),
    Case("score/iscrowd-null", lambda w: score(w), setup=lambda w: score_files(w, gt=gt_with(iscrowd=None)),
         names=lambda w: w.p("gt.json"), expect=("'iscrowd' must be 0 or 1", "got None")),

    # ---------------------------------------------------------------- 13: a dataset YAML key given twice
    Case("yaml/val-twice", lambda w: ["check-data", w.p("voc/data.yaml")],
         setup=lambda w: (w.voc(), w.write("voc/data.yaml", YAML + "val: list.txt\n")),
         names=lambda w: f"{w.p('voc/data.yaml')}:6", expect=("duplicate key 'val'", "line 4"), outcome="warning"),
    Case("yaml/names-twice-val", lambda w: val(w, w.p("voc/data.yaml"), "--weights", w.a.det_weights),
         setup=lambda w: (w.voc(), w.write("voc/list.txt", "a\n"),  # one image: val's "1 image in ..." line
                          w.write("voc/data.yaml", "names: [dog]\n" + YAML)),
         names=lambda w: f"{w.p('voc/data.yaml')}:6", expect=("duplicate key 'names'", "line 1"),
         outcome="warning"),

    # ---------------------------------------------------------------- 14: class names that do not fit the network
    *[Case(f"pt/names-{kind}", lambda w, v=v: predict(w, model=checkpoint_with_names(w, v), weights=None),
           names=lambda w: w.p("named.pt"), expect=("names", "default names (aeroplane, bicycle"), outcome="warning")
      for kind, v in (("too-few", ["cat", "dog"]), ("empty", []), ("not-a-list", "cats"),
                      ("numbers", list(range(20))), ("blank", [""] * 20))],
    Case("pt/names-too-many-info", lambda w: ["info", "--model", checkpoint_with_names(w, ["x"] * 21)],
         names=lambda w: w.p("named.pt"), expect=("21 names", "20 classes"), outcome="warning"),
    Case("onnx/more-names-than-classes", lambda w: predict(w, model=w.p("det.onnx")),
         setup=lambda w: onnx_with_names(w, ["cat", "dog"]), names=lambda w: w.p("det.onnx"),
         expect=("2 names", "embedded cfg has 1 class")),

    # ---------------------------------------------------------------- 15: float and 32-bit greyscale images
    Case("images/float-tiff-0-to-1", lambda w: predict(w, float_tiff(w), extra=("--conf", "0.99", "--save-dir",
                                                                                w.p("out"))),
         outcome="ok", new_ok=("out",), post=drawn_ramp),
    Case("images/float-tiff-nan", lambda w: predict(w, w.p("nan.tif")),
         setup=lambda w: Image.fromarray(np.full((8, 8), np.nan, np.float32), mode="F").save(w.p("nan.tif")),
         names=lambda w: w.p("nan.tif"), expect=("NaN",)),

    # ---------------------------------------------------------------- 16: non-finite cfg numbers
    Case("cfg/object-scale-nan", lambda w: train(w, w.voc(), model=w.p("bad.cfg")),
         setup=lambda w: w.cfg(old="jitter=.2\n", new="jitter=.2\nobject_scale=nan\n"),
         names=lambda w: f"{w.p('bad.cfg')}:{line_of(DET_CFG, 'jitter=.2') + 1}", expect=("object_scale=nan",)),
    Case("cfg/jitter-inf", lambda w: ["info", "--model", w.p("bad.cfg")],
         setup=lambda w: w.cfg(old="jitter=.2", new="jitter=inf"), names=lambda w: cfg_line(w, "jitter="),
         expect=("jitter=inf", "finite")),
    Case("cfg/momentum-minus-inf", lambda w: predict(w, model=w.p("bad.cfg")),
         setup=lambda w: w.cfg(old="channels=3\n", new="channels=3\nmomentum=-inf\n"),
         names=lambda w: f"{w.p('bad.cfg')}:{line_of(DET_CFG, 'channels=3') + 1}", expect=("momentum=-inf",)),
    Case("cfg/scales-nan", lambda w: ["info", "--model", w.p("bad.cfg")],
         setup=lambda w: w.cfg(old="channels=3\n", new="channels=3\nsteps=10,20\nscales=.1,nan\n"),
         names=lambda w: f"{w.p('bad.cfg')}:{line_of(DET_CFG, 'channels=3') + 2}", expect=("scales", "value 2")),

    # ---------------------------------------------------------------- 18: boxes under a pixel (normalised)
    Case("score/normalised-boxes", lambda w: score(w),
         setup=lambda w: score_files(w, gt=NORMALISED_GT, dets=NORMALISED_DETS), names=lambda w: w.p("gt.json"),
         expect=("under a pixel", "normalised"), outcome="warning"),
    Case("score/normalised-boxes-coco", lambda w: score(w, "--metric", "coco"),
         setup=lambda w: score_files(w, gt=NORMALISED_GT, dets=NORMALISED_DETS), names=lambda w: w.p("gt.json"),
         expect=("under a pixel",), outcome="warning"),
    Case("score/one-box-of-a-pixel-is-ok", lambda w: score(w),
         setup=lambda w: score_files(w, gt={**NORMALISED_GT, "annotations": NORMALISED_GT["annotations"] + [
             {"id": 3, "image_id": 1, "category_id": 1, "bbox": [3, 3, 1, 1]}]}, dets=NORMALISED_DETS),
         outcome="ok"),

    # ---------------------------------------------------------------- smaller ones
    Case("cfg/filters-200000000", lambda w: ["info", "--model", w.p("bad.cfg")],
         setup=lambda w: w.cfg(old="filters=8\n", new="filters=200000000\n"), names=lambda w: cfg_line(w, "filters=8"),
         expect=("filters=200000000", "weights")),
    Case("cfg/stride-1600000", lambda w: predict(w, model=w.p("bad.cfg")),
         setup=lambda w: w.cfg(old="stride=2\npad=1", new="stride=1600000\npad=1"),
         names=lambda w: f"{w.p('bad.cfg')}:{line_of(DET_CFG, 'stride=2')}", expect=("stride=1600000", "8192")),
    Case("cfg/total-stride-over-8192", lambda w: ["info", "--model", w.p("bad.cfg")],
         setup=lambda w: w.cfg(old="[maxpool]\nsize=2\nstride=2\n", new="[maxpool]\nsize=2\nstride=1024\n"),
         names=lambda w: f"{w.p('bad.cfg')}:{last_line_of(DET_CFG, '[maxpool]') + 2}",
         expect=("layer 4 (maxpool): stride=2", "16,384")),  # the layer where the total passes 8192
    *[Case(f"score/huge-boxes-{metric}", lambda w, m=metric: score(w, "--metric", m),
           setup=lambda w: score_files(w, gt=gt_with(bbox=HUGE), dets=[
               {"image_id": 1, "category_id": 1, "bbox": HUGE, "score": 0.9}]), outcome="ok")
      for metric in ("voc07", "voc", "coco")],
]

DEFECTS: dict[str, str] = {}


@pytest.mark.parametrize("case", params(CASES, DEFECTS))
def test_bad_data(case: Case, assets: Assets, tmp_path: Path, monkeypatch, capfd) -> None:  # noqa: F811
    run_case(case, assets, tmp_path, monkeypatch, capfd)
