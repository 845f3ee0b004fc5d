"""The dataset layer: VOC (VOCdevkit and flat), COCO and YOLO layouts into one representation, the
checks for bad records, skip_bad, the dataset YAML's errors and the check-data command."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from yolo9000.datasets import (DetectionDataset, ImageRecord, check_dataset, load_dataset, load_dataset_config)
from yolo9000.cli.check_data import add_check_data_parser, cmd_check_data
from yolo9000.errors import Yolo9000Error
from yolo9000.predict.sources import load_image

ROOT = Path(__file__).resolve().parents[2]
RACCOON_YAML = ROOT / "data" / "raccoon.yaml"


# ----------------------------------------------------------------------------------------------- helpers
def make_image(path: Path, size: tuple[int, int] = (64, 48), mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    color = {"RGB": (200, 30, 30), "L": 128, "CMYK": (0, 255, 255, 0), "RGBA": (1, 2, 3, 255)}[mode]
    Image.new(mode, size, color).save(path)
    return path


def voc_xml(path: Path, filename: str, size: tuple[int, int] | None, objects: list[tuple]) -> Path:
    """objects: (name, xmin, ymin, xmax, ymax[, difficult])."""
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = ["<annotation>", f"<filename>{filename}</filename>"]
    if size:
        parts.append(f"<size><width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>")
    for o in objects:
        diff = o[5] if len(o) > 5 else 0
        parts.append(f"<object><name>{o[0]}</name><difficult>{diff}</difficult><bndbox><xmin>{o[1]}</xmin>"
                     f"<ymin>{o[2]}</ymin><xmax>{o[3]}</xmax><ymax>{o[4]}</ymax></bndbox></object>")
    parts.append("</annotation>")
    path.write_text("\n".join(parts))
    return path


def write_yaml(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def kinds(report_or_issues) -> list[str]:
    issues = getattr(report_or_issues, "issues", report_or_issues)
    return sorted(i.kind for i in issues)


def flat_voc(tmp_path: Path) -> Path:
    """A clean flat VOC set: 3 train images (one CMYK JPEG, one greyscale PNG), 1 val image."""
    d = tmp_path / "flat"
    make_image(d / "images" / "a.jpg", (100, 80))
    make_image(d / "images" / "b.jpg", (60, 40), "CMYK")
    make_image(d / "images" / "c.png", (50, 50), "L")
    make_image(d / "images" / "v.jpg", (30, 30))
    voc_xml(d / "annotations" / "a.xml", "a.jpg", (100, 80), [("cat", 10, 10, 50, 60), ("dog", 1, 1, 100, 80, 1)])
    voc_xml(d / "annotations" / "b.xml", "b.jpg", (60, 40), [("dog", 5, 5, 20, 20)])
    voc_xml(d / "annotations" / "c.xml", "c.png", (50, 50), [("cat", 0, 0, 50, 50)])
    voc_xml(d / "annotations" / "v.xml", "v.jpg", (30, 30), [("cat", 2, 3, 12, 13)])
    (d / "train.txt").write_text("a\nb\nc\n")
    (d / "val.txt").write_text("v.jpg\n")  # a file name instead of a stem works too
    return write_yaml(d / "data.yaml", "path: .\nformat: voc\ntrain: train.txt\nval: val.txt\nnames: [cat, dog]\n")


# ---------------------------------------------------------------------------------------------- raccoon
@pytest.fixture(scope="module")
def raccoon_report():
    if not RACCOON_YAML.is_file() or not load_dataset_config(RACCOON_YAML).root.is_dir():
        pytest.skip("raccoon set not found")
    return check_dataset(RACCOON_YAML)  # every image fully decoded


def test_raccoon_loads():
    train = load_dataset(RACCOON_YAML, "train")
    val = load_dataset(RACCOON_YAML, "val")
    assert isinstance(train, DetectionDataset) and train.names == ("raccoon",) and train.split == "train"
    assert train.format == "voc" and train.root.name == "raccoon"
    assert len(train) == 160 and len(val) == 40
    assert train.num_boxes + val.num_boxes == 217
    assert not {r.image_id for r in train.records} & {r.image_id for r in val.records}
    r = next(r for r in train.records if r.image_id == "raccoon-1")
    assert isinstance(r, ImageRecord) and r.image.name == "raccoon-1.jpg"
    assert (r.width, r.height) == (650, 417)
    np.testing.assert_array_equal(r.boxes_xyxy, [[81, 88, 522, 408]])  # the XML's corners as they are
    assert r.boxes_xyxy.dtype == np.float64 and r.labels.dtype == np.int64
    assert r.difficult.dtype == bool and r.iscrowd.dtype == bool and not r.difficult.any()
    with pytest.raises(ValueError):
        r.boxes_xyxy[0, 0] = 0  # records are immutable


def test_raccoon_check_clean_and_greyscale(raccoon_report):
    rep = raccoon_report
    assert rep.ok and not rep.issues
    tr, va = rep.split("train"), rep.split("val")
    assert (tr.images, va.images) == (160, 40)
    assert tr.boxes + va.boxes == 217 and tr.class_boxes[0] + va.class_boxes[0] == 217
    assert tr.class_images == (160,) and tr.negatives == 0
    root = load_dataset_config(RACCOON_YAML).root
    grey = [p for p in sorted((root / "images").glob("*.jpg")) if Image.open(p).mode == "L"]
    assert grey, "the README promises greyscale images"
    for p in grey:
        a = load_image(p)
        assert a.shape == (Image.open(p).size[1], Image.open(p).size[0], 3) and a.dtype == np.uint8


# ------------------------------------------------------------------------------------------- VOCdevkit
def test_vocdevkit_two_years_combined(tmp_path):
    dk = tmp_path / "VOCdevkit"
    for year, stems in (("VOC2007", ["000001", "000002"]), ("VOC2012", ["2008_000001", "000001"])):
        for s in stems:
            make_image(dk / year / "JPEGImages" / f"{s}.jpg", (120, 90))
            voc_xml(dk / year / "Annotations" / f"{s}.xml", f"{s}.jpg", (120, 90),
                    [("person", 10.5, 20, 60, 80, 1 if s == "000002" else 0), ("dog", 1, 1, 120, 90)])
        main = dk / year / "ImageSets" / "Main"
        main.mkdir(parents=True)
        (main / "trainval.txt").write_text("\n".join(stems) + "\n")
    make_image(dk / "VOC2007" / "JPEGImages" / "000009.jpg", (50, 50))
    voc_xml(dk / "VOC2007" / "Annotations" / "000009.xml", "000009.jpg", None, [])
    (dk / "VOC2007" / "ImageSets" / "Main" / "test.txt").write_text("000009\n")
    (tmp_path / "voc.names").write_text("dog\nperson\n")
    y = write_yaml(tmp_path / "cfg" / "voc.yaml",
                   "path: ../VOCdevkit\nformat: voc\ntrain: [VOC2007/trainval, VOC2012/trainval]\n"
                   "val: VOC2007/ImageSets/Main/test.txt\nnames: ../voc.names\n")
    cfg = load_dataset_config(y)
    assert cfg.splits["train"] == ("VOC2007/trainval", "VOC2012/trainval") and cfg.names == ("dog", "person")
    ds = load_dataset(y, "train")
    assert len(ds) == 4 and ds.num_boxes == 8
    # a stem in both years keeps ids unique: its path below the root
    assert [r.image_id for r in ds.records] == ["VOC2007/JPEGImages/000001", "000002", "2008_000001",
                                                "VOC2012/JPEGImages/000001"]
    r = ds.records[1]
    np.testing.assert_array_equal(r.labels, [1, 0])
    np.testing.assert_array_equal(r.boxes_xyxy, [[10.5, 20, 60, 80], [1, 1, 120, 90]])
    np.testing.assert_array_equal(r.difficult, [True, False])
    val = load_dataset(y, "val")
    assert len(val) == 1 and val.records[0].boxes_xyxy.shape == (0, 4)  # an XML without objects: a negative

    # VOCdevkit: a listed image without its XML is a bad record
    (dk / "VOC2012" / "Annotations" / "2008_000001.xml").unlink()
    rep = check_dataset(y, "train", decode=False)
    assert kinds(rep) == ["no-annotation"] and "2008_000001.xml" in str(rep.issues[0].file)
    assert "trainval.txt line 1" in rep.issues[0].reason


# ------------------------------------------------------------------------------------------------- COCO
def coco_set(tmp_path: Path, images_key: bool = True) -> Path:
    d = tmp_path / "coco"
    make_image(d / "imgs" / "1.jpg", (200, 100))
    make_image(d / "imgs" / "2.jpg", (80, 60))
    make_image(d / "imgs" / "3.jpg", (40, 40))
    data = {
        "images": [{"id": 11, "file_name": "1.jpg", "width": 200, "height": 100},
                   {"id": 12, "file_name": "2.jpg", "width": 999, "height": 999},  # the image's size wins
                   {"id": 13, "file_name": "3.jpg"}],
        "categories": [{"id": 18, "name": "dog"}, {"id": 1, "name": "person"}],
        "annotations": [
            {"id": 1, "image_id": 11, "category_id": 1, "bbox": [10, 20, 30, 40], "area": 1000.0, "iscrowd": 0},
            {"id": 2, "image_id": 11, "category_id": 18, "bbox": [0.5, 0.25, 100, 50], "iscrowd": 1},
            {"id": 3, "image_id": 12, "category_id": 18, "bbox": [1, 2, 3, 4]},
        ],
    }
    (d / "annotations").mkdir(parents=True)
    (d / "annotations" / "instances_val.json").write_text(json.dumps(data))
    extra = "images: imgs\n" if images_key else ""
    return write_yaml(d / "coco.yaml", f"format: coco\nval: annotations/instances_val.json\n{extra}"
                                       "names: [person, dog]\n")


def test_coco_layout(tmp_path):
    y = coco_set(tmp_path)
    ds = load_dataset(y, "val")
    assert [r.image_id for r in ds.records] == [11, 12, 13]
    r = ds.records[0]
    np.testing.assert_array_equal(r.boxes_xyxy, [[10, 20, 40, 60], [0.5, 0.25, 100.5, 50.25]])  # xywh -> xyxy
    np.testing.assert_array_equal(r.labels, [0, 1])  # categories mapped by name, in names order
    np.testing.assert_array_equal(r.iscrowd, [False, True])
    np.testing.assert_allclose(r.area, [1000.0, 5000.0])  # the annotation's area, else w*h
    assert (ds.records[1].width, ds.records[1].height) == (80, 60)
    assert len(ds.records[2]) == 0  # an image without annotations is a negative, not an error
    assert check_dataset(y).ok


def test_coco_images_alongside(tmp_path):
    y = coco_set(tmp_path, images_key=False)
    (tmp_path / "coco" / "imgs").rename(tmp_path / "coco" / "images")  # no images: key, the usual folder
    assert len(load_dataset(y, "val")) == 3


def test_coco_bad_records(tmp_path):
    y = coco_set(tmp_path)
    jp = tmp_path / "coco" / "annotations" / "instances_val.json"
    data = json.loads(jp.read_text())
    data["categories"].append({"id": 7, "name": "zebra"})
    data["images"].append({"id": 14, "file_name": "gone.jpg"})
    data["annotations"] += [{"id": 4, "image_id": 11, "category_id": 7, "bbox": [1, 1, 5, 5]},
                            {"id": 5, "image_id": 99, "category_id": 1, "bbox": [1, 1, 5, 5]},
                            {"id": 6, "image_id": 12, "category_id": 1, "bbox": [1, 1, "x", 5]},
                            {"id": 7, "image_id": 12, "category_id": 1, "bbox": [70, 1, 20, 5]}]
    jp.write_text(json.dumps(data))
    rep = check_dataset(y)
    assert kinds(rep) == ["malformed", "missing-image", "no-image", "outside", "unknown-class"]
    by = {i.kind: i for i in rep.issues}
    assert by["missing-image"].file == tmp_path / "coco" / "imgs" / "gone.jpg"
    assert "image id 14" in by["missing-image"].reason
    assert all(i.file == jp for i in rep.issues if i.kind != "missing-image")
    assert "'zebra'" in by["unknown-class"].reason and "annotation id 4" in by["unknown-class"].reason
    assert "image_id 99" in by["no-image"].reason
    assert "80x60" in by["outside"].reason
    ds = load_dataset(y, "val", skip_bad=True)
    assert ds.num_boxes == 3 and len(ds) == 3

    jp.write_text('{"images": [')
    rep = check_dataset(y)
    assert kinds(rep) == ["malformed"] and "malformed JSON" in rep.issues[0].reason
    with pytest.raises(Yolo9000Error, match="instances_val.json: malformed JSON"):
        load_dataset(y, "val", skip_bad=True)  # a broken file holding the whole split is always an error


# ------------------------------------------------------------------------------------------------- YOLO
def test_yolo_layout(tmp_path):
    d = tmp_path / "yolo"
    make_image(d / "images" / "train" / "a.jpg", (200, 100))
    make_image(d / "images" / "train" / "b.png", (64, 32), "L")
    make_image(d / "images" / "val" / "c.jpg", (10, 10))
    (d / "labels" / "train").mkdir(parents=True)
    (d / "labels" / "val").mkdir(parents=True)
    (d / "labels" / "train" / "a.txt").write_text("1 0.5 0.5 0.2 0.4\n0 0.25 0.75 0.5 0.5\n")
    (d / "labels" / "val" / "c.txt").write_text("0 0.5 0.5 1 1\n")
    (d / "val.txt").write_text("images/val/c.jpg\n")
    y = write_yaml(d / "y.yaml", "format: yolo\ntrain: images/train\nval: val.txt\nnames: {0: a, 1: b}\n")
    ds = load_dataset(y, "train")
    assert [r.image.name for r in ds.records] == ["a.jpg", "b.png"]
    a, b = ds.records
    assert (a.width, a.height) == (200, 100)
    # cx 0.5 cy 0.5 w 0.2 h 0.4 in 200x100 -> (80, 30, 120, 70); cx .25 cy .75 w .5 h .5 -> (0, 50, 100, 100)
    np.testing.assert_allclose(a.boxes_xyxy, [[80, 30, 120, 70], [0, 50, 100, 100]])
    np.testing.assert_array_equal(a.labels, [1, 0])
    assert len(b) == 0  # no label file: an image without objects (a warning)
    rep = check_dataset(y)
    assert rep.ok and [w.kind for w in rep.warnings] == ["negative"] and rep.warnings[0].file.name == "b.png"
    v = load_dataset(y, "val")
    np.testing.assert_allclose(v.records[0].boxes_xyxy, [[0, 0, 10, 10]])


def test_yolo_bad_lines(tmp_path):
    d = tmp_path / "yolo"
    make_image(d / "images" / "a.jpg", (100, 100))
    (d / "labels").mkdir(parents=True)
    (d / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n\n0 0.5 0.5\n5 0.5 0.5 0.1 0.1\n0 0.9 0.5 0.4 0.4\n"
                                        "0 0.5 0.5 -0.1 0.1\nx 0.5 0.5 0.1 0.1\n")
    (d / "labels" / "orphan.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    y = write_yaml(d / "y.yaml", "format: darknet\ntrain: images\nnames: [a]\n")
    rep = check_dataset(y)
    lines = {i.line: i for i in rep.issues if i.line is not None}
    assert sorted(lines) == [3, 4, 5, 6, 7]
    assert lines[3].kind == "malformed" and "got 3 value(s)" in lines[3].reason
    assert lines[4].kind == "unknown-class" and "class id 5" in lines[4].reason
    assert lines[5].kind == "outside" and lines[6].kind == "degenerate" and lines[7].kind == "malformed"
    assert all(i.file == d / "labels" / "a.txt" for i in lines.values())
    assert str(lines[3]).startswith(f"{d / 'labels' / 'a.txt'}:3: ")
    orphan = [i for i in rep.issues if i.kind == "no-image"]
    assert len(orphan) == 1 and orphan[0].file.name == "orphan.txt"
    ds = load_dataset(y, "train", skip_bad=True)
    assert len(ds) == 1 and ds.num_boxes == 1  # only line 1 survives


# -------------------------------------------------------------------------------------- zero-area boxes
def test_zero_area_box_is_dropped_with_one_warning(tmp_path):
    """A point or a line annotation (BCCD has two) is dropped with a warning naming the file and the object;
    the image and its other boxes stay, and no --skip-bad is needed. An inverted box stays an error."""
    y = flat_voc(tmp_path)
    d = y.parent
    voc_xml(d / "annotations" / "a.xml", "a.jpg", (100, 80),
            [("cat", 10, 10, 50, 60), ("cat", 30, 40, 30, 40), ("cat", 20, 20, 60, 20)])
    rep = check_dataset(y, ["train"])
    assert rep.issues == ()
    zero = [w for w in rep.warnings if w.kind == "zero-area"]
    assert [w.file for w in zero] == [d / "annotations" / "a.xml"] * 2
    assert "object 2" in zero[0].reason and "(30, 40, 30, 40)" in zero[0].reason and "dropped" in zero[0].reason
    assert "object 3" in zero[1].reason
    with pytest.warns(UserWarning, match=r"2 zero-area boxes dropped: .*a\.xml: object 2"):
        ds = load_dataset(y, "train")
    a = next(r for r in ds.records if r.image.name == "a.jpg")
    np.testing.assert_array_equal(a.boxes_xyxy, [[10, 10, 50, 60]])

    voc_xml(d / "annotations" / "a.xml", "a.jpg", (100, 80), [("cat", 10, 10, 50, 60), ("cat", 30, 40, 20, 50)])
    with pytest.raises(Yolo9000Error, match=r"a\.xml: object 2 \('cat'\): degenerate box \(30, 40, 20, 50\)"):
        load_dataset(y, "train")


def test_zero_area_yolo_label_is_a_warning_and_check_data_lists_it(tmp_path, capsys):
    d = tmp_path / "yolo"
    make_image(d / "images" / "a.jpg", (100, 100))
    (d / "labels").mkdir(parents=True)
    (d / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n0 0.3 0.3 0 0.1\n")
    y = write_yaml(d / "y.yaml", "train: images\nval: images\nnames: [a]\n")
    p = argparse.ArgumentParser()
    add_check_data_parser(p.add_subparsers())
    assert cmd_check_data(p.parse_args(["check-data", str(y)])) == 0
    out = capsys.readouterr().out
    assert f"{d / 'labels' / 'a.txt'}:2: zero-area box" in out and "OK: no bad records" in out
    with pytest.warns(UserWarning, match="1 zero-area box dropped"):
        assert load_dataset(y, "train").num_boxes == 1


# -------------------------------------------------------------------------------------- VOC bad records
def test_voc_bad_records_each_kind(tmp_path):
    y = flat_voc(tmp_path)
    d = y.parent
    voc_xml(d / "annotations" / "a.xml", "a.jpg", (100, 80),
            [("cat", 10, 10, 50, 60), ("cat", 10, 10, 102, 60), ("cat", 30, 10, 25, 20), ("horse", 1, 1, 5, 5),
             ("cat", 0, -1, 101, 81)])  # the last: within the 1-pixel tolerance
    (d / "annotations" / "b.xml").write_text("<annotation><object>")  # malformed XML
    (d / "images" / "c.png").write_bytes(b"not an image at all")  # unreadable
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(d / "images" / "t.jpg")
    full = (d / "images" / "t.jpg").read_bytes()
    (d / "images" / "t.jpg").write_bytes(full[: len(full) // 2])  # truncated: the header is fine
    voc_xml(d / "annotations" / "t.xml", "t.jpg", (64, 64), [("cat", 1, 1, 5, 5)])
    voc_xml(d / "annotations" / "m.xml", "m.jpg", (64, 64), [("cat", 1, 1, 5, 5)])  # annotation without image
    make_image(d / "images" / "n.jpg", (20, 20))  # image without annotation: a negative in flat VOC
    (d / "train.txt").write_text("a\nb\nc\nt\nm\nn\n")

    rep = check_dataset(y, ["train"])
    assert kinds(rep) == ["degenerate", "malformed", "missing-image", "outside", "unknown-class",
                          "unreadable-image", "unreadable-image"]
    by = {}
    for i in rep.issues:
        by.setdefault(i.kind, []).append(i)
    assert by["outside"][0].file == d / "annotations" / "a.xml" and "object 2" in by["outside"][0].reason
    assert "100x80" in by["outside"][0].reason
    assert "object 3" in by["degenerate"][0].reason
    assert "'horse'" in by["unknown-class"][0].reason and "not in names" in by["unknown-class"][0].reason
    assert by["malformed"][0].file == d / "annotations" / "b.xml" and "malformed XML" in by["malformed"][0].reason
    assert by["missing-image"][0].file == d / "images" / "m.jpg" and "train.txt line 5" in by["missing-image"][0].reason
    assert {i.file.name for i in by["unreadable-image"]} == {"c.png", "t.jpg"}
    assert [w.kind for w in rep.warnings] == ["negative"] and rep.warnings[0].file.name == "n.jpg"
    assert all("\n" not in str(i) for i in rep.issues)
    tr = rep.split("train")
    assert tr.listed == 6 and tr.images == 2 and tr.boxes == 2 and tr.negatives == 1  # a (2 good boxes), n

    # header-only checking (what load_dataset does) cannot see the truncated JPEG
    assert "t.jpg" not in {i.file.name for i in check_dataset(y, "train", decode=False).issues}

    with pytest.raises(Yolo9000Error) as e:
        load_dataset(y, "train")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(y)) and "6 bad records" in msg
    assert "a.xml" in msg and "object 2" in msg  # the first one
    ds = load_dataset(y, "train", skip_bad=True)
    assert [r.image.name for r in ds.records] == ["a.jpg", "t.jpg", "n.jpg"]
    a = ds.records[0]
    np.testing.assert_array_equal(a.boxes_xyxy, [[10, 10, 50, 60], [0, -1, 101, 81]])


def test_cmyk_and_greyscale_images(tmp_path):
    y = flat_voc(tmp_path)
    rep = check_dataset(y)  # full decode of every image
    assert rep.ok and not rep.warnings
    ds = load_dataset(y, "train")
    sizes = {r.image.name: (r.width, r.height) for r in ds.records}
    assert sizes == {"a.jpg": (100, 80), "b.jpg": (60, 40), "c.png": (50, 50)}
    for r in ds.records:
        a = load_image(r.image)
        assert a.shape == (r.height, r.width, 3) and a.dtype == np.uint8
    assert Image.open(y.parent / "images" / "b.jpg").mode == "CMYK"
    np.testing.assert_array_equal(ds.records[0].difficult, [False, True])


def test_voc_folder_split_and_size_mismatch(tmp_path):
    d = tmp_path / "f"
    make_image(d / "images" / "x.jpg", (40, 30))
    make_image(d / "images" / "y.jpg", (40, 30))
    voc_xml(d / "annotations" / "x.xml", "x.jpg", (400, 300), [("cat", 1, 1, 40, 30)])
    voc_xml(d / "annotations" / "z.xml", "z.jpg", (40, 30), [("cat", 1, 1, 4, 3)])
    y = write_yaml(d / "d.yaml", "format: voc\ntrain: images\nnames: [cat]\n")
    rep = check_dataset(y)
    assert kinds(rep) == ["no-image"] and rep.issues[0].file.name == "z.xml"
    assert sorted(w.kind for w in rep.warnings) == ["negative", "size-mismatch"]
    ds = load_dataset(y, "train", skip_bad=True)
    assert (ds.records[0].width, ds.records[0].height) == (40, 30)  # the image's size wins over <size>


# ---------------------------------------------------------------------------------------- YAML errors
@pytest.mark.parametrize("text, match", [
    ("format: voc\ntrain: [a\n", "not valid YAML"),
    ("- a\n- b\n", "expected a mapping"),
    ("train: train.txt\nnames: [cat]\n", r"cannot tell the dataset format \(the split entries 'train.txt' \(train\) "
                                         r"do not exist below .*\); add 'format: yolo' \(or voc, coco\) to the YAML"),
    ("format: voc\ntrain: train.txt\n", "missing key 'names'"),
    ("format: voc\nnames: [cat]\n", "missing key 'train' or 'val'"),
    ("format: kitti\ntrain: train.txt\nnames: [cat]\n", "unknown format 'kitti'"),
    ("format: voc\ntrain: train.txt\nnames: [cat]\nnc: two\n", "'nc: 'two'' must be the number of classes"),
    ("format: voc\ntrain: train.txt\nnc: 1\n", "missing key 'names' \\('nc: 1' alone is not enough"),
    ("path: nowhere\nformat: voc\ntrain: train.txt\nnames: [cat]\n", "dataset folder .* does not exist"),
    ("format: voc\ntrain: train.txt\nnames: [cat, cat]\n", "repeats 'cat'"),
    ("format: voc\ntrain: train.txt\nnames: missing.names\n", "names file 'missing.names' not found"),
    ("format: voc\ntrain: train.txt\nnames: [cat]\nnc: 2\n", "'nc: 2'"),
])
def test_yaml_errors(tmp_path, text, match):
    y = write_yaml(tmp_path / "bad.yaml", text)
    with pytest.raises(Yolo9000Error, match=match) as e:
        load_dataset(y, "train")
    assert str(e.value).startswith(f"{y}: ") and "\n" not in str(e.value)


@pytest.mark.parametrize("fmt, text, match", [
    ("voc", "train: nothing.txt", "entry 'nothing.txt': no such list file or folder"),
    ("voc", "train: train.txt\nimages: pics", "images folder .*pics does not exist"),
    ("voc", "train: train.txt\nannotations: xml", "annotations folder .*xml does not exist"),
    ("voc", "val: train.txt", "no 'train' split"),
    ("coco", "train: missing.json", "no such COCO JSON file"),
    ("yolo", "train: images", "no label file found for any of its"),
])
def test_missing_folders_name_the_yaml(tmp_path, fmt, text, match):
    y = flat_voc(tmp_path)
    y = write_yaml(y.parent / "other.yaml", f"format: {fmt}\nnames: [cat, dog]\n{text}\n")
    with pytest.raises(Yolo9000Error, match=match) as e:
        load_dataset(y, "train")
    assert str(e.value).startswith(f"{y}: ") and "\n" not in str(e.value)
    with pytest.raises(Yolo9000Error):
        check_dataset(y, "train")


def test_missing_yaml_file(tmp_path):
    with pytest.raises(Yolo9000Error, match="no such dataset YAML"):
        load_dataset_config(tmp_path / "nope.yaml")


# ------------------------------------------------------------------------------------------------- CLI
def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="yolo9000")
    add_check_data_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["check-data", *argv])


def test_cli_check_data(tmp_path, capsys):
    y = flat_voc(tmp_path)
    a = _args(str(y), "--split", "train", "val")
    assert a.split == ["train", "val"]
    assert cmd_check_data(a) == 0
    out = capsys.readouterr().out
    assert "train" in out and "val" in out and "OK: no bad records" in out
    cat_row = next(line for line in out.splitlines() if line.startswith("cat "))
    assert cat_row.split() == ["cat", "2", "2", "1", "1"]  # train images, boxes; val images, boxes
    (y.parent / "annotations" / "v.xml").write_text("<annotation>")
    assert cmd_check_data(_args(str(y), "--split", "val", "--fast")) == 1
    out = capsys.readouterr().out
    assert "v.xml: malformed XML" in out and "FAILED: 1 bad records" in out
