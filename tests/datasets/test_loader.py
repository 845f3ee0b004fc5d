"""``yolo9000.datasets.loader``: load_dataset on the bundled raccoon set (records, splits, immutable
arrays), and zero-area boxes dropped with one warning (VOC and YOLO labels)."""
from __future__ import annotations

import argparse

import numpy as np
import pytest

from yolo9000.datasets import DetectionDataset, ImageRecord, check_dataset, load_dataset
from yolo9000.cli.check_data import add_check_data_parser, cmd_check_data
from yolo9000.errors import Yolo9000Error

from .helpers import RACCOON_YAML, flat_voc, make_image, voc_xml, write_yaml


# ---------------------------------------------------------------------------------------------- raccoon
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
