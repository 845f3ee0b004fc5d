"""Builders shared by the dataset tests (and tests/cli/test_check_data.py): images, VOC XML files, dataset
YAMLs, a clean flat VOC set and a small COCO set on disk."""
from __future__ import annotations

import json
from pathlib import Path

from PIL import Image


ROOT = Path(__file__).resolve().parents[2]
RACCOON_YAML = ROOT / "data" / "raccoon.yaml"


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
