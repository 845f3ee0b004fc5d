"""``yolo9000.datasets.coco``: the COCO JSON layout (boxes, categories by name, crowds, areas), images
found alongside, and bad COCO records."""
from __future__ import annotations

import json

import numpy as np
import pytest

from yolo9000.datasets import check_dataset, load_dataset
from yolo9000.errors import Yolo9000Error

from .helpers import coco_set, kinds


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
