"""``yolo9000.datasets.config``: the dataset YAML's errors, missing folders and a missing YAML file, each one
line naming the YAML."""
from __future__ import annotations

import pytest

from yolo9000.datasets import check_dataset, load_dataset, load_dataset_config
from yolo9000.errors import Yolo9000Error

from .helpers import flat_voc, write_yaml


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
