"""Darknet's ``obj.data`` (``yolo9000.datasets.darknet_data``): a darknet-layout folder built from the raccoon
photos (VOC boxes converted to YOLO labels beside the images, list files of image paths, a names file),
read as darknet reads it, checked and trained on for one epoch."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from yolo9000.cli.app import main
from yolo9000.datasets import load_dataset
from yolo9000.datasets.config import load_dataset_config
from yolo9000.errors import Yolo9000Error

from .helpers import RACCOON_YAML


def darknet_layout(root: Path, n_train: int = 6, n_valid: int = 3) -> dict[str, Path]:
    """``root/obj/{*.jpg, *.txt}`` (darknet's labels: class cx cy w h, normalised), ``root/train.txt`` and
    ``root/test.txt`` listing ``obj/<name>.jpg`` (relative, as darknet's tutorials write them),
    ``root/obj.names``; the raccoon photos' boxes, converted."""
    (root / "obj").mkdir(parents=True)
    lists = {}
    for split, n, out in (("train", n_train, "train.txt"), ("val", n_valid, "test.txt")):
        lines = []
        for rec in load_dataset(RACCOON_YAML, split).records[:n]:
            image = root / "obj" / rec.image.name
            shutil.copy(rec.image, image)
            h, w = rec.height, rec.width
            rows = [f"{c} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}"
                    for c, (x1, y1, x2, y2) in zip(rec.labels, np.asarray(rec.boxes_xyxy, float))]
            image.with_suffix(".txt").write_text("\n".join(rows) + "\n")
            lines.append(f"obj/{image.name}")
        (root / out).write_text("\n".join(lines) + "\n")
        lists[split] = root / out
    (root / "obj.names").write_text("raccoon\n")
    return lists


def data_file(root: Path, text: str = "classes = 1\ntrain = train.txt\nvalid = test.txt\nnames = obj.names\n"
              "backup = backup/\n") -> Path:
    (root / "obj.data").write_text(text)
    return root / "obj.data"


def test_obj_data_reads_as_darknet_reads_it(tmp_path, monkeypatch):
    """Paths from the working directory, as darknet resolves them; from elsewhere, from the .data file's
    folder; the same images and boxes either way, equal to the raccoon set's own."""
    root = tmp_path / "set"
    darknet_layout(root)
    data = data_file(root)
    monkeypatch.chdir(root)
    cfg = load_dataset_config("obj.data")
    assert (cfg.format, cfg.names, sorted(cfg.splits)) == ("yolo", ("raccoon",), ["train", "val"])
    here = load_dataset("obj.data", "train")
    monkeypatch.chdir(tmp_path)  # elsewhere: the .data file's folder
    there = load_dataset(data, "train")
    original = load_dataset(RACCOON_YAML, "train").records[:6]
    assert [r.image.name for r in here.records] == [r.image.name for r in there.records] == [r.image.name
                                                                                             for r in original]
    for a, b in zip(there.records, original):
        np.testing.assert_allclose(np.asarray(a.boxes_xyxy), np.asarray(b.boxes_xyxy), atol=0.01)
        assert list(a.labels) == list(b.labels)
    assert len(load_dataset(data, "val").records) == 3


@pytest.mark.parametrize("text, words", [
    ("classes = 2\ntrain = train.txt\nnames = obj.names\n", r"obj.data:1: classes = 2, but .*obj.names lists 1 names"),
    ("train = train.txt\n", r"obj.data: missing 'names = <file>'"),
    ("names = obj.names\n", r"obj.data: missing 'train = <list file>'"),
    ("train = train.txt\nnames = nothing.names\n", r"obj.data:2: names file 'nothing.names' not found"),
    ("train train.txt\nnames = obj.names\n", r"obj.data:1: expected 'key = value', got 'train train.txt'"),
])
def test_bad_data_files_are_one_line(tmp_path, text, words):
    darknet_layout(tmp_path, 1, 1)
    with pytest.raises(Yolo9000Error, match=words) as e:
        load_dataset_config(data_file(tmp_path, text))
    assert "\n" not in str(e.value)


def test_check_data_and_one_training_epoch_on_obj_data(tmp_path, capsys):
    darknet_layout(tmp_path)
    data = data_file(tmp_path, "classes= 1\ntrain  = train.txt\nvalid=test.txt\nnames=obj.names\n# a comment\n")
    assert main(["check-data", str(data)]) == 0
    assert "OK: no bad records" in capsys.readouterr().out
    assert main(["train", "--data", str(data), "--model", "yolov2-nano", "--epochs", "1", "--imgsz", "64",
                 "--batch", "2", "--workers", "0", "--project", str(tmp_path / "runs"), "--name", "dn",
                 "--train-eval", "0", "--no-tensorboard"]) == 0
    assert (tmp_path / "runs" / "dn" / "weights" / "best.pt").is_file()
