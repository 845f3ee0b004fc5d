"""``yolo9000.datasets.yolo``: the YOLO txt layout (folders and list files, negatives) and bad label lines."""
from __future__ import annotations

import numpy as np

from yolo9000.datasets import check_dataset, load_dataset

from .helpers import make_image, write_yaml


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
