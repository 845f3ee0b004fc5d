"""The generated shapes dataset: loads clean as a YOLO set, is deterministic, has tight boxes, is reused when
complete and never left half-written."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from yolo9000.datasets import check_dataset, load_dataset
from yolo9000.datasets import shapes
from yolo9000.datasets.shapes import make_shapes, render
from yolo9000.cli.shapes import add_shapes_parser, cmd_shapes
from yolo9000.errors import Yolo9000Error

PARAMS = dict(n_train=24, n_val=12, size=96, seed=3)
# Background pixels lie within 22 of the base colour per channel and object colours differ from it by at least
# 110 in one channel, so along that channel a background pixel is at most 0.2 of the way to the object colour;
# a drawn pixel (opacity >= 0.6) is at least 0.52 of the way. THRESHOLD splits the two.
THRESHOLD = 0.36


@pytest.fixture(scope="module")
def shapes_yaml(tmp_path_factory) -> Path:
    return make_shapes(tmp_path_factory.mktemp("shapes") / "set", **PARAMS)


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(np.float64)


# ------------------------------------------------------------------------------------------ the YOLO set
def test_loads_clean(shapes_yaml):
    root = shapes_yaml.parent
    assert shapes_yaml.name == "shapes.yaml"
    train, val = load_dataset(shapes_yaml, "train"), load_dataset(shapes_yaml, "val")
    assert (len(train), len(val)) == (24, 12)
    assert train.names == val.names == ("circle", "square", "triangle") and train.format == "yolo"
    for r in train.records + val.records:
        assert (r.width, r.height) == (96, 96) and 1 <= len(r) <= 4
        assert r.image.suffix == ".png" and r.image.parent.parent == root / "images"
        assert ((r.labels >= 0) & (r.labels < 3)).all()
    report = check_dataset(shapes_yaml)  # every image decoded
    assert report.ok and not report.warnings, report.format_problems()
    assert report.split("train").listed == 24 and report.split("val").listed == 12
    assert all(n > 0 for n in report.split("train").class_boxes)  # every class occurs
    assert sorted(p.name for p in (root / "labels" / "val").iterdir()) == [f"{i:06d}.txt" for i in range(12)]
    manifest = json.loads((root / "shapes.json").read_text())
    assert manifest["params"] == {**PARAMS, "classes": ["circle", "square", "triangle"]}


def test_deterministic(shapes_yaml, tmp_path):
    again = make_shapes(tmp_path / "again", **PARAMS)
    a, b = files_of(shapes_yaml.parent), files_of(again.parent)
    assert len(a) == 2 * (24 + 12) + 2
    assert a.keys() == b.keys() and all(a[k] == b[k] for k in a)
    other = files_of(make_shapes(tmp_path / "other", **{**PARAMS, "seed": 4}).parent)
    assert other.keys() == a.keys()
    images = [k for k in a if k.endswith(".png")]
    assert all(a[k] != other[k] for k in images)
    # the val images do not depend on the number of train images
    fewer = files_of(make_shapes(tmp_path / "fewer", **{**PARAMS, "n_train": 5}).parent)
    assert all(fewer[k] == a[k] for k in a if k.startswith(("images/val", "labels/val")))


# ---------------------------------------------------------------------------------------- tight boxes
def fraction(img: np.ndarray, bg, color, ys, xs) -> np.ndarray:
    """How far pixels are from the background's base colour toward the object colour, along the channel
    where the two differ most (0: background, 1: object)."""
    bg, color = np.asarray(bg, float), np.asarray(color, float)
    ch = int(np.argmax(np.abs(color - bg)))
    return (img[ys, xs, ch] - bg[ch]) / (color[ch] - bg[ch])


def sides(box):
    """Per side: (inside strip, outside strip) as (ys, xs) index arrays, for a box x1, y1, x2, y2 (exclusive)."""
    x1, y1, x2, y2 = box
    ys, xs = np.arange(y1, y2), np.arange(x1, x2)
    return {
        "left": ((ys, np.full_like(ys, x1)), (ys, np.full_like(ys, x1 - 1))),
        "right": ((ys, np.full_like(ys, x2 - 1)), (ys, np.full_like(ys, x2))),
        "top": ((np.full_like(xs, y1), xs), (np.full_like(xs, y1 - 1), xs)),
        "bottom": ((np.full_like(xs, y2 - 1), xs), (np.full_like(xs, y2), xs)),
    }


def checkable(box, others, size) -> list[str]:
    """The sides of ``box`` whose strips, and those with the side moved one pixel out or in, lie in the
    image and clear of the other objects' boxes (there, another object may cover or border the object)."""
    x1, y1, x2, y2 = box
    ys, xs = np.arange(y1 - 1, y2 + 1), np.arange(x1 - 1, x2 + 1)
    bands = {"left": (ys, np.arange(x1 - 2, x1 + 2)), "right": (ys, np.arange(x2 - 2, x2 + 2)),
             "top": (np.arange(y1 - 2, y1 + 2), xs), "bottom": (np.arange(y2 - 2, y2 + 2), xs)}
    out = []
    for side, (bys, bxs) in bands.items():
        if bys.min() < 0 or bxs.min() < 0 or bys.max() >= size or bxs.max() >= size:
            continue
        if any(bys.max() >= oy1 and bys.min() < oy2 and bxs.max() >= ox1 and bxs.min() < ox2
               for ox1, oy1, ox2, oy2 in others):
            continue
        out.append(side)
    return out


def is_tight(img, bg, color, box, which) -> bool:
    """On each side in ``which``: object colour in the pixels just inside the box, none just outside."""
    strips = sides(box)
    return all(fraction(img, bg, color, *strips[s][0]).max() > THRESHOLD
               and fraction(img, bg, color, *strips[s][1]).max() < THRESHOLD for s in which)


def test_boxes_tight(shapes_yaml):
    total = checked = 0
    for split in ("train", "val"):
        for rec in load_dataset(shapes_yaml, split).records:
            img = pixels(rec.image)
            want = render(PARAMS["seed"], split, int(rec.image.stem), PARAMS["size"])
            assert np.array_equal(img, want.pixels)  # the file is the rendered image; its colours are known
            assert rec.labels.tolist() == [o.label for o in want.objects]
            boxes = np.rint(rec.boxes_xyxy)
            assert np.abs(rec.boxes_xyxy - boxes).max() < 1e-3  # whole pixels, as written
            boxes = [tuple(int(v) for v in b) for b in boxes]
            assert boxes == [o.box for o in want.objects]
            for i, (box, obj) in enumerate(zip(boxes, want.objects)):
                which = checkable(box, boxes[:i] + boxes[i + 1:], PARAMS["size"])
                assert is_tight(img, want.background, obj.color, box, which), f"{rec.image}: {box} is not tight"
                total += 4
                checked += len(which)
                for side in which:  # the check fails with that side moved one pixel out or in
                    k, out = {"left": (0, -1), "top": (1, -1), "right": (2, 1), "bottom": (3, 1)}[side]
                    for step in (out, -out):
                        moved = list(box)
                        moved[k] += step
                        assert not is_tight(img, want.background, obj.color, tuple(moved), [side]), (side, step)
    assert checked >= 0.7 * total, (checked, total)


# ---------------------------------------------------------------------------------- reuse, atomicity
def test_reuse_complete_set(tmp_path, monkeypatch):
    root = tmp_path / "set"
    small = dict(n_train=3, n_val=2, size=64, seed=1)
    y = make_shapes(root, **small)
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}

    def boom(*a, **k):
        raise AssertionError("rendered again")

    monkeypatch.setattr(shapes, "render", boom)
    assert make_shapes(root, **small) == y  # nothing rendered
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before
    monkeypatch.undo()
    # other parameters: the set is replaced
    y2 = make_shapes(root, **{**small, "n_val": 3})
    assert y2 == y and len(load_dataset(y2, "val")) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]  # no temporary folders left


def test_half_written_set_not_reused(tmp_path, monkeypatch):
    root = tmp_path / "set"
    small = dict(n_train=4, n_val=2, size=64, seed=2)
    real = shapes.render
    calls = []

    def dies(*a, **k):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    # interrupted first run: nothing that looks like a set is left
    monkeypatch.setattr(shapes, "render", dies)
    with pytest.raises(KeyboardInterrupt):
        make_shapes(root, **small)
    assert not root.exists() and list(tmp_path.iterdir()) == []
    monkeypatch.undo()

    # an interrupted rebuild with other parameters keeps the complete old set as it was
    y = make_shapes(root, **small)
    old = files_of(root)
    calls.clear()
    monkeypatch.setattr(shapes, "render", dies)
    with pytest.raises(KeyboardInterrupt):
        make_shapes(root, **{**small, "seed": 5})
    monkeypatch.undo()
    assert files_of(root) == old and sorted(p.name for p in tmp_path.iterdir()) == ["set"]

    # a set missing a file, or with a damaged manifest, is rebuilt; so is a killed run's temporary folder removed
    (root / "images" / "train" / "000002.png").unlink()
    stale = tmp_path / ".set.tmp-999999999-deadbeef"  # a process id no process has
    (stale / "images").mkdir(parents=True)
    assert make_shapes(root, **small) == y
    assert files_of(root) == old and not stale.exists()
    (root / "shapes.json").write_text('{"generator": "yolo9000.datasets.shapes", "vers')
    assert make_shapes(root, **small) == y and files_of(root) == old


def test_refuses_foreign_folder_and_bad_params(tmp_path):
    (tmp_path / "mine" / "notes.txt").parent.mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(Yolo9000Error, match="holds .*notes.txt, which this generator did not write"):
        make_shapes(tmp_path / "mine", n_train=2, n_val=1, size=64)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    # a remake with other options replaces a set of ours, but not with a file the user added, and not a folder
    # that only claims to be one (a shapes.json that is not our manifest)
    make_shapes(tmp_path / "set", n_train=2, n_val=1, size=64)
    (tmp_path / "set" / "labels" / "train" / "extra.txt").write_text("mine")
    with pytest.raises(Yolo9000Error, match="extra.txt, which this generator did not write"):
        make_shapes(tmp_path / "set", n_train=3, n_val=1, size=64)
    assert (tmp_path / "set" / "labels" / "train" / "extra.txt").read_text() == "mine"
    (tmp_path / "mine" / "shapes.json").write_text('{"not": "a manifest"}')
    with pytest.raises(Yolo9000Error, match="notes.txt"):
        make_shapes(tmp_path / "mine", n_train=2, n_val=1, size=64)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    for bad in (dict(n_train=0), dict(size=16), dict(seed=-1), dict(classes=("circle", "blob")),
                dict(classes=("circle", "circle"))):
        with pytest.raises(Yolo9000Error):
            make_shapes(tmp_path / "x", **{"n_train": 2, "n_val": 1, "size": 64, **bad})
    assert not (tmp_path / "x").exists()


def test_other_shapes():
    classes = tuple(shapes.SHAPES)
    labels = set()
    for i in range(12):
        im = render(0, "train", i, 128, classes)
        assert im.pixels.shape == (128, 128, 3) and im.pixels.dtype == np.uint8
        for o in im.objects:
            x1, y1, x2, y2 = o.box
            assert 1 <= x1 < x2 <= 127 and 1 <= y1 < y2 <= 127
            labels.add(o.label)
    assert len(labels) >= 6


def test_cli(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="yolo9000")
    add_shapes_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["shapes", "--out", str(tmp_path / "s"), "--train", "3", "--val", "2", "--size", "64",
                              "--seed", "7"])
    assert cmd_shapes(args) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "s" / "shapes.yaml") in out and "3 train / 2 val" in out and "made in" in out
    assert cmd_shapes(args) == 0 and "reused" in capsys.readouterr().out
    defaults = parser.parse_args(["shapes"])
    assert (defaults.train, defaults.val, defaults.size, defaults.seed) == (2000, 100, 160, 0)
