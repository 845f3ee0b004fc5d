"""``yolo9000.datasets.voc``: VOCdevkit (years combined) and flat VOC layouts, each kind of bad VOC record,
CMYK and greyscale images, a folder as a split and a <size> that disagrees with the image."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from yolo9000.datasets import check_dataset, load_dataset, load_dataset_config
from yolo9000.errors import Yolo9000Error
from yolo9000.predict.sources import load_image

from .helpers import flat_voc, kinds, make_image, voc_xml, write_yaml


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
