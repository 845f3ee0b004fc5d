"""Dataset YAMLs written for other tools load unchanged: Ultralytics' (coco8 layout, ``path:`` looked up in
the datasets folder, names as a mapping, ``download:``) and Roboflow's exports (``train: ../train/images``,
``nc``, a ``roboflow:`` block); ``format:`` inferred when absent, and a one-line error when it cannot be."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from yolo9000.datasets import check_dataset, load_dataset, load_dataset_config
from yolo9000.errors import Yolo9000Error
from yolo9000.paths import datasets_dir, yolo9000_home

from .helpers import coco_set, flat_voc, make_image, voc_xml, write_yaml

URL = "https://github.com/ultralytics/assets/releases/download/v0.0.0/coco8.zip"

# an Ultralytics dataset YAML as Ultralytics writes them (comments, an empty test:, names as a mapping)
COCO8_YAML = """\
# COCO8 dataset: the first images of COCO train2017, for trying things out
# Example usage: yolo train data=coco8.yaml

# Train/val/test sets as 1) dir: path/to/imgs, 2) file: path/to/imgs.txt, or 3) list: [path/to/imgs1, path/to/imgs2, ..]
path: {path} # dataset root dir
train: images/train2017 # train images (relative to 'path') 3 images
val: images/val2017 # val images (relative to 'path') 2 images
test: # test images (optional)

# Classes
names:
  0: person
  1: bicycle
  2: car

# Download script/URL (optional)
download: {url}
"""

ROBOFLOW_YAML = """\
train: ../train/images
val: ../valid/images
test: ../test/images

nc: 2
names: ['cat', 'dog']

roboflow:
  workspace: some-workspace
  project: pets-xyz12
  version: 3
  license: CC BY 4.0
  url: https://universe.roboflow.com/some-workspace/pets-xyz12/dataset/3
"""


@pytest.fixture(autouse=True)
def datasets_folder(tmp_path, monkeypatch) -> Path:
    """A datasets folder of this test's own (never the user's ~/.cache/yolo9000)."""
    d = tmp_path / "datasets-home"
    monkeypatch.setenv("YOLO9000_DATASETS", str(d))
    return d


def yolo_split(images: Path, labels: Path, items: dict[str, tuple[tuple[int, int], str]]) -> None:
    """Images (name -> (size, label text)) and their YOLO label files; a label text of None: no file."""
    labels.mkdir(parents=True, exist_ok=True)
    for name, (size, text) in items.items():
        make_image(images / name, size)
        if text is not None:
            (labels / f"{Path(name).stem}.txt").write_text(text)


def expected_boxes(label: Path, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(xyxy pixels, classes) of a YOLO label file, converted independently of the loader."""
    rows = np.array([[float(t) for t in line.split()] for line in label.read_text().splitlines() if line.strip()])
    rows = rows.reshape(-1, 5)
    w, h = size
    cx, cy, bw, bh = rows[:, 1] * w, rows[:, 2] * h, rows[:, 3] * w, rows[:, 4] * h
    return np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1), rows[:, 0].astype(np.int64)


def coco8(folder: Path) -> Path:
    """A dataset laid out as Ultralytics' coco8: images/{train2017,val2017} and labels/{train2017,val2017}."""
    yolo_split(folder / "images" / "train2017", folder / "labels" / "train2017", {
        "000000000009.jpg": ((64, 48), "0 0.5 0.5 0.25 0.5\n2 0.25 0.75 0.5 0.25\n"),
        "000000000025.jpg": ((80, 40), "1 0.5 0.5 1 1\n"),
        "000000000030.jpg": ((32, 32), None),  # no label file: an image without objects
    })
    yolo_split(folder / "images" / "val2017", folder / "labels" / "val2017", {
        "000000000036.jpg": ((50, 100), "0 0.1 0.2 0.2 0.4\n"),
        "000000000042.jpg": ((40, 40), "2 0.5 0.5 0.5 0.5\n1 0.75 0.75 0.25 0.25\n"),
    })
    return folder


def load_quietly(y: Path, split: str):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ds = load_dataset(y, split)
    return ds, [str(x.message) for x in w]


def assert_matches_labels(ds, labels: Path) -> None:
    for r in ds.records:
        txt = labels / f"{r.image.stem}.txt"
        if not txt.exists():
            assert len(r) == 0
            continue
        boxes, classes = expected_boxes(txt, (r.width, r.height))
        np.testing.assert_allclose(r.boxes_xyxy, boxes)
        np.testing.assert_array_equal(r.labels, classes)


# ------------------------------------------------------------------------------------------- Ultralytics
def test_paths_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv("YOLO9000_DATASETS")
    monkeypatch.delenv("YOLO9000_HOME", raising=False)
    assert yolo9000_home() == Path.home() / ".cache" / "yolo9000"
    assert datasets_dir() == Path.home() / ".cache" / "yolo9000" / "datasets"
    monkeypatch.setenv("YOLO9000_HOME", str(tmp_path / "h"))
    assert datasets_dir() == tmp_path / "h" / "datasets"
    monkeypatch.setenv("YOLO9000_DATASETS", str(tmp_path / "d"))
    assert datasets_dir() == tmp_path / "d" and yolo9000_home() == tmp_path / "h"


def test_ultralytics_yaml_path_relative_to_the_yaml(tmp_path):
    root = coco8(tmp_path / "datasets" / "coco8")
    y = write_yaml(tmp_path / "cfg" / "coco8.yaml", COCO8_YAML.format(path="../datasets/coco8", url=URL))
    with pytest.warns(UserWarning) as rec:
        cfg = load_dataset_config(y)
    msgs = [str(w.message) for w in rec]
    assert msgs == [f"{y}: ignoring 'download' (yolo9000 never downloads datasets; it reads the files that are on disk)"]
    assert cfg.format == "yolo" and cfg.root == root.resolve()  # inferred: images/ with labels/*.txt
    assert cfg.names == ("person", "bicycle", "car") and set(cfg.splits) == {"train", "val"}  # test: empty

    train, _ = load_quietly(y, "train")
    assert [r.image.name for r in train.records] == ["000000000009.jpg", "000000000025.jpg", "000000000030.jpg"]
    assert train.num_boxes == 3
    np.testing.assert_allclose(train.records[0].boxes_xyxy, [[24, 12, 40, 36], [0, 30, 32, 42]])
    assert_matches_labels(train, root / "labels" / "train2017")
    val, _ = load_quietly(y, "val")
    assert len(val) == 2 and val.num_boxes == 3
    assert_matches_labels(val, root / "labels" / "val2017")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = check_dataset(y)
    assert rep.ok and [w.kind for w in rep.warnings] == ["negative"]


def test_ultralytics_yaml_path_in_the_datasets_folder(tmp_path, datasets_folder):
    root = coco8(datasets_folder / "coco8")
    y = write_yaml(tmp_path / "elsewhere" / "coco8.yaml", COCO8_YAML.format(path="coco8", url=URL))
    val, msgs = load_quietly(y, "val")
    assert val.root == root.resolve() and len(val) == 2
    assert_matches_labels(val, root / "labels" / "val2017")
    assert len(msgs) == 1 and "ignoring 'download'" in msgs[0]

    # next to the YAML wins over the datasets folder
    near = coco8(y.parent / "coco8")
    (near / "images" / "val2017" / "000000000042.jpg").unlink()
    (near / "labels" / "val2017" / "000000000042.txt").unlink()
    val, _ = load_quietly(y, "val")
    assert val.root == near.resolve() and len(val) == 1


def test_missing_dataset_names_both_places_and_the_download(tmp_path, datasets_folder):
    y = write_yaml(tmp_path / "cfg" / "coco8.yaml", COCO8_YAML.format(path="coco8", url=URL))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Yolo9000Error) as e:
            load_dataset(y, "train")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"{y}: dataset folder 'coco8' (from 'path') does not exist: ")
    assert str(tmp_path / "cfg" / "coco8") in msg and str(datasets_folder / "coco8") in msg
    assert "$YOLO9000_DATASETS" in msg
    assert msg.endswith(f"; get it from {URL} (the YAML's 'download') and unpack it into {datasets_folder}")
    # a download script (Ultralytics' coco.yaml holds Python) is never run, and the error says so
    y2 = write_yaml(tmp_path / "cfg" / "coco.yaml", "path: coco\ntrain: images/train2017\nnames: [a]\n"
                                                    "download: |\n  from pathlib import Path\n  print(1)\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Yolo9000Error, match="'download' is a script, which yolo9000 does not run") as e:
            load_dataset_config(y2)
    assert "\n" not in str(e.value)


def test_path_absent_is_the_yaml_folder(tmp_path):
    root = coco8(tmp_path / "coco8")
    y = write_yaml(root / "data.yaml", "train: images/train2017\nval: images/val2017\nnames: [person, bicycle, car]\n")
    cfg = load_dataset_config(y)  # no warning: every key is known
    assert cfg.root == root.resolve() and cfg.format == "yolo"


# --------------------------------------------------------------------------------------------- Roboflow
def roboflow_export(folder: Path) -> Path:
    """A Roboflow "YOLOv8" export: data.yaml beside train/, valid/, test/ (each images/ + labels/)."""
    for split, items in (("train", {"a_jpg.rf.1.jpg": ((64, 64), "0 0.5 0.5 0.5 0.5\n1 0.25 0.25 0.125 0.25\n"),
                                    "b_jpg.rf.2.jpg": ((48, 96), "1 0.5 0.5 1 0.5\n")}),
                         ("valid", {"c_jpg.rf.3.jpg": ((64, 32), "0 0.5 0.5 0.25 0.25\n")}),
                         ("test", {"d_jpg.rf.4.jpg": ((32, 32), "1 0.5 0.5 0.5 0.5\n"),
                                   "e_jpg.rf.5.jpg": ((32, 32), "")})):  # an empty label file: no objects
        yolo_split(folder / split / "images", folder / split / "labels", items)
    (folder / "README.roboflow.txt").write_text("exported from roboflow\n")
    return write_yaml(folder / "data.yaml", ROBOFLOW_YAML)


def test_roboflow_export_loads_unchanged(tmp_path):
    folder = tmp_path / "pets.v3i.yolov8"
    y = roboflow_export(folder)
    assert not (tmp_path / "train").exists()  # ../train/images really is missing, as in a real export
    with pytest.warns(UserWarning) as rec:
        cfg = load_dataset_config(y)
    assert [str(w.message) for w in rec] == [
        f"{y}: ignoring unknown key(s) 'roboflow' (yolo9000 reads annotations, format, images, imgsz, names, nc, "
        f"path, test, train, val)"]
    assert cfg.format == "yolo" and cfg.root == folder.resolve() and cfg.names == ("cat", "dog")
    assert cfg.splits == {"train": ("train/images",), "val": ("valid/images",), "test": ("test/images",)}
    for split, sub, n, boxes in (("train", "train", 2, 3), ("val", "valid", 1, 1), ("test", "test", 2, 1)):
        ds, _ = load_quietly(y, split)
        assert len(ds) == n and ds.num_boxes == boxes
        assert all(r.image.parent == folder / sub / "images" for r in ds.records)
        assert_matches_labels(ds, folder / sub / "labels")
    ds, _ = load_quietly(y, "train")
    np.testing.assert_allclose(ds.records[0].boxes_xyxy, [[16, 16, 48, 48], [12, 8, 20, 24]])


def test_parent_entry_used_as_written_when_it_exists(tmp_path):
    """``../x`` is only retried as ``x`` when it does not exist (Ultralytics' rule)."""
    folder = tmp_path / "export"
    roboflow_export(folder)
    y = write_yaml(folder / "cfg" / "data.yaml", "path: .\ntrain: ../train/images\nnames: [cat, dog]\n")
    cfg = load_dataset_config(y)
    assert cfg.root == (folder / "cfg").resolve() and cfg.splits["train"] == ("../train/images",)
    assert len(load_dataset(y, "train")) == 2


# ------------------------------------------------------------------------------------ inferring format
def test_format_inferred_for_voc_and_coco(tmp_path):
    flat = flat_voc(tmp_path)
    y = write_yaml(flat.parent / "noformat.yaml", "train: train.txt\nval: val.txt\nnames: [cat, dog]\n")
    assert load_dataset_config(y).format == "voc"
    assert len(load_dataset(y, "train")) == 3
    y = write_yaml(flat.parent / "folder.yaml", "train: images\nnames: [cat, dog]\n")  # XML by the images folder
    assert load_dataset_config(y).format == "voc"

    coco = coco_set(tmp_path)
    y = write_yaml(coco.parent / "noformat.yaml", "val: annotations/instances_val.json\nimages: imgs\n"
                                                  "names: [person, dog]\n")
    assert load_dataset_config(y).format == "coco" and len(load_dataset(y, "val")) == 3

    # a VOCdevkit split (VOC2007/trainval -> ImageSets/Main/trainval.txt)
    dk = tmp_path / "VOCdevkit" / "VOC2007"
    make_image(dk / "JPEGImages" / "000001.jpg", (40, 30))
    voc_xml(dk / "Annotations" / "000001.xml", "000001.jpg", (40, 30), [("dog", 1, 1, 20, 20)])
    (dk / "ImageSets" / "Main").mkdir(parents=True)
    (dk / "ImageSets" / "Main" / "trainval.txt").write_text("000001\n")
    y = write_yaml(tmp_path / "voc.yaml", "path: VOCdevkit\ntrain: VOC2007/trainval\nnames: [dog]\n")
    assert load_dataset_config(y).format == "voc" and load_dataset(y, "train").num_boxes == 1


def _one_line_error(y: Path) -> str:
    with pytest.raises(Yolo9000Error) as e:
        load_dataset(y, "train")
    msg = str(e.value)
    assert msg.startswith(f"{y}: cannot tell the dataset format") and "\n" not in msg
    assert msg.endswith("; add 'format: yolo' (or voc, coco) to the YAML")
    return msg


def test_undecidable_format_is_one_line(tmp_path):
    d = tmp_path / "d"
    make_image(d / "images" / "a.jpg")  # no labels, no XML: nothing to tell by
    y = write_yaml(d / "data.yaml", "train: images\nnames: [a]\n")
    assert "(no split entry points to YOLO label files, VOC XML annotations or a COCO JSON)" in _one_line_error(y)

    # both a YOLO label file and a VOC XML: two formats
    (d / "labels").mkdir()
    (d / "labels" / "a.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    voc_xml(d / "annotations" / "a.xml", "a.jpg", None, [("a", 1, 1, 5, 5)])
    msg = _one_line_error(y)
    assert "the split entries look like voc (train: images); yolo (train: images)" in msg
    # format: settles it
    write_yaml(y, "format: yolo\ntrain: images\nnames: [a]\n")
    assert load_dataset(y, "train").num_boxes == 1

    # an entry that does not exist is named
    y = write_yaml(d / "typo.yaml", "train: imgs/train\nnames: [a]\n")
    assert f"(the split entries 'imgs/train' (train) do not exist below {d.resolve()})" in _one_line_error(y)


# ------------------------------------------------------------------------------ unknown and malformed keys
def test_unknown_keys_warn_known_keys_still_checked(tmp_path):
    y = flat_voc(tmp_path)
    y = write_yaml(y.parent / "extra.yaml", "format: voc\ntrain: train.txt\nnames: [cat, dog]\nanotations: x\n"
                                            "kpt_shape: [17, 3]\n")
    with pytest.warns(UserWarning) as rec:
        ds = load_dataset(y, "train")
    assert len(ds) == 3
    assert [str(w.message) for w in rec] == [
        f"{y}: ignoring unknown key(s) 'anotations', 'kpt_shape' (yolo9000 reads annotations, format, images, "
        f"imgsz, names, nc, path, test, train, val)"]
    for bad, match in (("nc: 3", "'nc: 3' but 'names' has 2 classes"), ("nc: [2]", "'nc: \\[2\\]' must be"),
                       ("names: {1: cat, 2: dog}", "'names' as a mapping needs the keys 0, 1, ..., N-1"),
                       ("path: [a]", "'path' must be a folder"), ("imgsz: 100", "'imgsz: 100' must be")):
        text = "format: voc\ntrain: train.txt\nnames: [cat, dog]\nroboflow: {x: 1}\n"
        key = bad.split(":")[0]
        text = "\n".join(line for line in text.splitlines() if not line.startswith(key + ":")) + f"\n{bad}\n"
        y2 = write_yaml(y.parent / "bad.yaml", text)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(Yolo9000Error, match=match) as e:
                load_dataset_config(y2)
        assert str(e.value).startswith(f"{y2}: ") and "\n" not in str(e.value)


def test_each_warning_shown_once_per_process(tmp_path):
    """Training reads the YAML three times; Python's default filter shows its warnings once."""
    folder = tmp_path / "export"
    y = roboflow_export(folder)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("default")
        for _ in range(3):
            load_dataset_config(y)
        load_dataset(y, "train")
    assert [str(w.message).split(" (")[0] for w in rec] == [f"{y}: ignoring unknown key(s) 'roboflow'"]


def test_cli_check_data_on_a_roboflow_export(tmp_path, capsys):
    from yolo9000.cli.app import main

    y = roboflow_export(tmp_path / "export")
    assert main(["check-data", str(y), "--fast"]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"yolo9000: warning: {y}: ignoring unknown key(s) 'roboflow' (yolo9000 reads "
                                f"annotations, format, images, imgsz, names, nc, path, test, train, val)"]
    assert out.splitlines()[0] == f"{y}: yolo dataset in {(tmp_path / 'export').resolve()}, 2 classes"
    assert "OK: no bad records" in out
    # an undecidable format: the CLI's one-line error, exit 2
    write_yaml(y, "train: ../train/nothing\nnames: [cat, dog]\n")
    assert main(["check-data", str(y)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(f"yolo9000: error: {y}: cannot tell the dataset format")


# ------------------------------------------------------------------------------ a key given twice (issue 22)
def test_duplicate_keys_warn_with_the_line_once_per_process(tmp_path):
    y = flat_voc(tmp_path)
    y = write_yaml(y.parent / "twice.yaml", "format: voc\ntrain: train.txt\nval: train.txt\nnames: [cat, dog]\n"
                                            "val: val.txt\nnames:\n  0: bird\n  1: dog\n  0: cat\n")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")  # the once is the loader's own, whatever the filter
        cfg = load_dataset_config(y)
        load_dataset_config(y)
        load_dataset(y, "val")
    assert [str(w.message) for w in rec] == [
        f"{y}:5: duplicate key 'val': this value replaces the one of line 3",
        f"{y}:6: duplicate key 'names': this value replaces the one of line 4",
        f"{y}:9: duplicate key 0: this value replaces the one of line 7",
    ]
    assert cfg.splits["val"] == ("val.txt",) and cfg.names == ("cat", "dog")  # the last value applies, as before
    # flow style on one line too; a key overriding a merged-in one ('<<: *base') is no repeat
    y = write_yaml(y.parent / "flow.yaml", "base: &b {train: val.txt}\nsplits: {<<: *b, train: train.txt}\n"
                                           "format: voc\ntrain: train.txt\nnames: {0: cat, 1: dog, 1: dog}\n")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        load_dataset_config(y)
    assert [str(w.message) for w in rec if "duplicate key" in str(w.message)] == [
        f"{y}:5: duplicate key 1: this value replaces the one of line 5"]


def test_check_data_warnings_carry_their_split(tmp_path):
    """Notes the format scanners make (an image without a label file) are tagged with the split too."""
    d = tmp_path / "yolo"
    make_image(d / "images" / "a.jpg")
    make_image(d / "images" / "b.jpg")
    (d / "labels").mkdir()
    (d / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    y = write_yaml(d / "data.yaml", "format: yolo\ntrain: images\nval: images\nnames: [cat]\n")
    rep = check_dataset(y, decode=False)
    assert [(w.split, w.kind) for w in rep.warnings] == [("train", "negative"), ("val", "negative")]
    lines = rep.format_problems().splitlines()
    assert lines[0] == "2 warnings:" and lines[1].startswith(f"  [train] {d / 'images' / 'b.jpg'}: ")
    assert lines[2].startswith(f"  [val] {d / 'images' / 'b.jpg'}: ") and "[]" not in rep.format_problems()
