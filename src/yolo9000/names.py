"""Class names: reading a names file (one name per line, as darknet's ``.names``), and the bundled lists in
``yolo9000/data`` (darknet's VOC, COCO and ImageNet-1k names, YOLO9000's 9k tree and its maps) that give the
zoo's networks their names.

A base module: the zoo (``models/``), darknet's ``.cfg`` reader (``darknet/``), the dataset readers and the
predictor all use it, and it imports none of them.
"""
from __future__ import annotations

from pathlib import Path

from yolo9000.errors import file_error, read_text_file

DATA_DIR = Path(__file__).parent / "data"

# bundled names by class count: what darknet's own models predict
_BY_COUNT = {20: "voc.names", 80: "coco.names", 1000: "imagenet1k.names", 9418: "9k.names"}


def bundled(name: str) -> Path:
    """Path of a file shipped in ``yolo9000/data`` (``voc.names``, ``9k.tree``, ...)."""
    return DATA_DIR / name


def read_names(path: str | Path, num_classes: int | None = None) -> tuple[str, ...]:
    """Read one class name per line (blank lines ignored at the end only).

    Raises a one-line error if the file is missing, empty, or its count differs from ``num_classes``.
    """
    p, text = read_text_file(path, "names file")
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    names = tuple(line.strip() for line in lines)
    if not names:
        raise file_error(p, "names file is empty")
    if num_classes is not None and len(names) != num_classes:
        raise file_error(p, f"{len(names)} names for a model with {num_classes} classes")
    return names


def default_names(num_classes: int) -> tuple[str, ...]:
    """Darknet's own list for 20, 80, 1000 or 9418 classes; otherwise ``class0``, ``class1``, ..."""
    if num_classes in _BY_COUNT:
        return read_names(bundled(_BY_COUNT[num_classes]), num_classes)
    return tuple(f"class{i}" for i in range(num_classes))
