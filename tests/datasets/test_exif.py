"""check-data warns about images with an EXIF orientation other than 1 (training reads the pixels as stored,
as darknet does, so boxes drawn on the rotated view would be wrong); it is a warning, never a bad record."""
from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from yolo9000.datasets import check_dataset, load_dataset
from yolo9000.cli.check_data import add_check_data_parser, cmd_check_data
from yolo9000.datasets.loader import exif_orientation

from .helpers import make_image, write_yaml


def jpeg_with_orientation(path: Path, orientation: int, size: tuple[int, int] = (64, 32)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.new("RGB", size, (10, 200, 30)).save(path, exif=exif)
    return path


def yolo_set(tmp_path: Path, rotated: list[str], plain: list[str]) -> Path:
    d = tmp_path / "ds"
    (d / "labels").mkdir(parents=True)
    for name in rotated:
        jpeg_with_orientation(d / "images" / f"{name}.jpg", 6)
    for name in plain:
        make_image(d / "images" / f"{name}.jpg", (64, 32))
    for name in rotated + plain:
        (d / "labels" / f"{name}.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    return write_yaml(d / "data.yaml", "format: yolo\ntrain: images\nnames: [a]\n")


def test_orientation_read_from_the_file(tmp_path):
    assert exif_orientation(jpeg_with_orientation(tmp_path / "r.jpg", 6)) == 6
    assert exif_orientation(jpeg_with_orientation(tmp_path / "u.jpg", 1)) == 1
    assert exif_orientation(make_image(tmp_path / "n.jpg")) is None  # no EXIF at all
    assert exif_orientation(make_image(tmp_path / "n.png")) is None


def test_check_data_warns_one_line_per_rotated_image(tmp_path, capsys):
    y = yolo_set(tmp_path, rotated=["r1"], plain=["p1"])
    jpeg_with_orientation(y.parent / "images" / "upright.jpg", 1)  # orientation 1: nothing to say
    (y.parent / "labels" / "upright.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    rep = check_dataset(y)
    assert rep.ok  # a warning, not a bad record
    [w] = [w for w in rep.warnings if w.kind == "exif-rotation"]
    assert w.file == y.parent / "images" / "r1.jpg" and w.scope == "none"
    assert w.reason.startswith("EXIF orientation 6: viewers show it rotated 90 degrees clockwise, training reads "
                               "the pixels as stored")
    # the record itself is as stored: 64x32, not the viewer's 32x64
    r = next(r for r in load_dataset(y, "train").records if r.image.stem == "r1")
    assert (r.width, r.height) == (64, 32)

    parser = argparse.ArgumentParser(prog="yolo9000")
    add_check_data_parser(parser.add_subparsers(dest="command", required=True))
    assert cmd_check_data(parser.parse_args(["check-data", str(y), "--fast"])) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "EXIF orientation" in line]
    assert lines == [f"  [train] {y.parent / 'images' / 'r1.jpg'}: {w.reason}"]
    assert "OK: no bad records" in out


def test_many_rotated_images_counted(tmp_path, capsys):
    y = yolo_set(tmp_path, rotated=[f"r{i}" for i in range(5)], plain=[])
    parser = argparse.ArgumentParser(prog="yolo9000")
    add_check_data_parser(parser.add_subparsers(dest="command", required=True))
    assert cmd_check_data(parser.parse_args(["check-data", str(y), "--max-warnings", "2"])) == 0
    out = capsys.readouterr().out
    assert sum("EXIF orientation 6" in line for line in out.splitlines()) == 2
    assert "  ... and 3 more exif-rotation warnings" in out
