"""YOLO / darknet txt datasets: one ``class cx cy w h`` line per object, relative to the image size.

A split entry is a folder of images (searched recursively) or a txt list of image paths (absolute, or
relative to the dataset root; ``./``-paths relative to the list's folder), as darknet's ``train.txt``.
An image's label file is found as darknet does, by replacing the ``images`` (or ``JPEGImages``) folder
in its path with ``labels`` (the YAML's ``images:`` / ``annotations:`` rename them) and the extension
with ``.txt``; else ``<root>/<annotations>/<stem>.txt`` when ``annotations:`` is set; else next to the
image. An image without a label file is an image without objects (darknet and others train on such
images; noted as a warning).
"""
from __future__ import annotations

import math
from pathlib import Path

from yolo9000.datasets._raw import (
    BadRecord,
    RawBox,
    RawRecord,
    entry_error,
    first_existing,
    images_under,
    list_path,
    probe_images,
    read_list,
    resolve,
    substitute,
)
from yolo9000.datasets.records import DatasetConfig, Issue
from yolo9000.images import IMAGE_EXTS


def parse_yolo_txt(path: Path, num_classes: int) -> tuple[list[RawBox], None]:
    """Boxes of one label file (relative cx, cy, w, h); a bad line is a bad box with its line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise BadRecord("malformed", f"not a UTF-8 text file ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise BadRecord("malformed", f"cannot read the label file ({e.strerror or e})") from None
    boxes = []
    for i, line in enumerate(text.splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        where = f"line {i}"
        if len(tokens) != 5:
            boxes.append(RawBox(None, where=where, line=i, problem=(
                "malformed", f"expected 'class cx cy w h', got {len(tokens)} value(s): {line.strip()[:60]!r}")))
            continue
        try:
            cls = int(tokens[0])
            vals = tuple(float(t) for t in tokens[1:])
            if not all(math.isfinite(v) for v in vals):
                raise ValueError
        except ValueError:
            boxes.append(RawBox(None, where=where, line=i, problem=(
                "malformed", f"expected an integer class and 4 numbers, got {line.strip()[:60]!r}")))
            continue
        box = RawBox(vals, cls, where=where, line=i, relative=True)  # type: ignore[arg-type]
        if not 0 <= cls < num_classes:
            box.problem = ("unknown-class", f"class id {cls} is not in names (0..{num_classes - 1})")
            box.label = -1
        boxes.append(box)
    return boxes, None


def label_candidates(cfg: DatasetConfig, image: Path) -> list[Path | None]:
    """Where an image's label file may be, in order (the first is None when no folder is ``images``)."""
    cands = [substitute(image, {cfg.images or "images", "JPEGImages"}, cfg.annotations or "labels", ".txt")]
    if cfg.annotations:
        cands.append(cfg.root / cfg.annotations / f"{image.stem}.txt")
    cands.append(image.with_suffix(".txt"))
    return cands


def sniff(cfg: DatasetConfig, entry: str) -> bool:
    """Whether a split entry looks like YOLO: one of its first images has a label file."""
    return any(first_existing(label_candidates(cfg, im)) is not None
               for im in probe_images(cfg.root, resolve(cfg.root, entry)))


def scan(cfg: DatasetConfig, split: str) -> tuple[list[RawRecord], list[Issue]]:
    k = len(cfg.names)
    from_names = {cfg.images or "images", "JPEGImages"}
    lab_name = cfg.annotations or "labels"
    records: list[RawRecord] = []
    orphans: list[Issue] = []

    def add(image: Path, source: str) -> Path | None:
        cands = label_candidates(cfg, image)
        s = cands[0]
        txt = first_existing(cands)
        if txt is None:
            expected = s or image.with_suffix(".txt")
            note = Issue(image, f"no label file (looked for {expected}); taken as an image without objects",
                         "negative", "none")
            records.append(RawRecord(image, None, source, warnings=[note]))
        else:
            records.append(RawRecord(image, txt, source, parse=lambda: parse_yolo_txt(txt, k)))
        return txt

    for entry in cfg.entries(split):
        p = resolve(cfg.root, entry)
        if p.is_dir():
            used = {add(image, f"in folder {p}") for image in images_under(p)}
            sub = substitute(p / "x", from_names, lab_name, None)
            if sub is not None and sub.parent.is_dir():
                for txt in sorted(sub.parent.rglob("*.txt")):
                    if txt not in used:
                        orphans.append(Issue(txt, "label file without an image", "no-image", "record"))
        elif p.is_file() and p.suffix.lower() in IMAGE_EXTS:
            add(p, "named in the YAML")
        elif p.is_file():
            for line, token in read_list(p):
                add(list_path(token, cfg.root, p), f"listed in {p} line {line}")
        else:
            raise entry_error(cfg, split, entry, f"no such list file or folder ({p})")
    if records and all(r.ann is None for r in records):
        raise entry_error(cfg, split, ", ".join(cfg.entries(split)),
                          f"no label file found for any of its {len(records)} images")
    return records, orphans
