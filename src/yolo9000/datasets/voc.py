"""PASCAL VOC XML datasets: the VOCdevkit layout and flat layouts (``images/``, ``annotations/``).

A split entry is one of:

- ``VOC2007/trainval`` (or ``VOC2007/ImageSets/Main/trainval.txt``): the VOCdevkit layout; images in
  ``VOC2007/JPEGImages``, XML in ``VOC2007/Annotations``. Every listed image needs its XML.
- a list file of stems (or image paths), e.g. ``train.txt``: a flat layout; images in ``<root>/images``,
  XML in ``<root>/annotations`` (``images:`` / ``annotations:`` in the YAML rename them).
- a folder of images: XML found by replacing the ``images`` folder in the path with ``annotations``,
  else in ``<root>/annotations``, else next to the image.

In flat layouts an image without an XML is taken as an image without objects (a valid negative, noted
as a warning); in the VOCdevkit layout it is a bad record.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

from yolo9000.datasets._raw import (
    BadRecord,
    RawBox,
    RawRecord,
    entry_error,
    first_existing,
    image_index,
    images_under,
    list_path,
    looks_like_path,
    probe_images,
    read_list,
    resolve,
    substitute,
)
from yolo9000.datasets.records import DatasetConfig, Issue
from yolo9000.errors import Yolo9000Error
from yolo9000.images import IMAGE_EXTS

_CORNERS = ("xmin", "ymin", "xmax", "ymax")


def parse_voc_xml(xml: Path, index: dict[str, int]) -> tuple[list[RawBox], tuple[int, int] | None]:
    """Objects of one VOC XML file (pixel corners as written); raises BadRecord if the file is unusable."""
    try:
        root = ET.parse(xml).getroot()
    except ET.ParseError as e:
        raise BadRecord("malformed", f"malformed XML ({e})") from None
    except OSError as e:
        raise BadRecord("malformed", f"cannot read the annotation ({e.strerror or e})") from None
    if root.tag != "annotation":
        raise BadRecord("malformed", f"malformed VOC XML (root element <{root.tag}>, expected <annotation>)")
    size = None
    try:
        w, h = int(float(root.findtext("size/width", ""))), int(float(root.findtext("size/height", "")))
        size = (w, h) if w > 0 and h > 0 else None
    except ValueError:
        pass
    boxes = []
    for k, obj in enumerate(root.findall("object"), 1):
        name = (obj.findtext("name") or "").strip()
        where = f"object {k} ({name!r})" if name else f"object {k}"
        try:
            vals = tuple(float(obj.findtext(f"bndbox/{t}", "")) for t in _CORNERS)
            if not all(math.isfinite(v) for v in vals):
                raise ValueError
        except ValueError:
            boxes.append(RawBox(None, where=where, problem=(
                "malformed", f"{where}: <bndbox> needs numeric xmin, ymin, xmax, ymax")))
            continue
        diff_text = (obj.findtext("difficult") or "0").strip()
        try:
            difficult = float(diff_text) != 0
        except ValueError:
            boxes.append(RawBox(vals, where=where, problem=("malformed", f"{where}: <difficult> is {diff_text!r}")))
            continue
        if not name:
            boxes.append(RawBox(vals, where=where, problem=("malformed", f"{where}: no <name>")))
        elif name not in index:
            boxes.append(RawBox(vals, where=where, difficult=difficult,
                                problem=("unknown-class", f"{where}: class {name!r} is not in names")))
        else:
            boxes.append(RawBox(vals, index[name], difficult=difficult, where=where))
    return boxes, size


def _record(image: Path, xml: Path | None, index: dict[str, int], source: str, devkit: bool,
            expected_xml: Path) -> RawRecord:
    if xml is None or not xml.is_file():
        if devkit:
            return RawRecord(image, expected_xml, source,
                             problem=("no-annotation", f"no annotation file ({source})", expected_xml))
        note = Issue(image, f"no annotation file (looked for {expected_xml}); taken as an image without objects",
                     "negative", "none")
        return RawRecord(image, None, source, warnings=[note])
    return RawRecord(image, xml, source, parse=lambda: parse_voc_xml(xml, index))


def entry_path(cfg: DatasetConfig, entry: str) -> Path:
    """The file or folder a split entry names; ``VOC2007/trainval`` -> ``VOC2007/ImageSets/Main/trainval.txt``."""
    p = resolve(cfg.root, entry)
    if not p.exists() and not p.suffix:
        e = Path(entry)
        for cand in (resolve(cfg.root, str(e.parent)) / "ImageSets" / "Main" / f"{e.name}.txt",
                     p.with_suffix(".txt")):
            if cand.is_file():
                return cand
    return p


def _is_devkit(list_file: Path) -> bool:
    return list_file.parent.name == "Main" and list_file.parent.parent.name == "ImageSets"


def _xml_candidates(cfg: DatasetConfig, image: Path) -> list[Path | None]:
    """Where the XML of an image in a folder entry may be, in order (see the module docstring)."""
    ann_name = cfg.annotations or "annotations"
    return [substitute(image, {cfg.images or "images", "JPEGImages"}, ann_name, ".xml"),
            cfg.root / ann_name / f"{image.stem}.xml", image.with_suffix(".xml")]


def sniff(cfg: DatasetConfig, entry: str) -> bool:
    """Whether a split entry looks like VOC: a VOCdevkit list, a list whose first stems have an XML in the
    annotations folder, or a folder whose first images have an XML."""
    p = entry_path(cfg, entry)
    if p.is_dir() or p.suffix.lower() in IMAGE_EXTS:
        return any(first_existing(_xml_candidates(cfg, im)) is not None for im in probe_images(cfg.root, p))
    if not p.is_file() or p.suffix.lower() == ".json":
        return False
    if _is_devkit(p):
        return True
    try:
        lines = read_list(p)[:20]
    except Yolo9000Error:  # not a text list: no evidence
        return False
    ann_dir = cfg.root / (cfg.annotations or "annotations")
    return any((ann_dir / f"{Path(t).stem if looks_like_path(t) else t}.xml").is_file() for _, t in lines)


def scan(cfg: DatasetConfig, split: str) -> tuple[list[RawRecord], list[Issue]]:
    index = {n: i for i, n in enumerate(cfg.names)}
    img_name = cfg.images or "images"
    ann_name = cfg.annotations or "annotations"
    records: list[RawRecord] = []
    orphans: list[Issue] = []
    for entry in cfg.entries(split):
        p = entry_path(cfg, entry)
        if p.is_file():
            devkit = _is_devkit(p)
            if devkit:
                year = p.parents[2]
                img_dir, ann_dir = year / (cfg.images or "JPEGImages"), year / (cfg.annotations or "Annotations")
            else:
                img_dir, ann_dir = cfg.root / img_name, cfg.root / ann_name
            for d, what in ((img_dir, "images"), (ann_dir, "annotations")):
                if not d.is_dir():
                    raise entry_error(cfg, split, entry, f"{what} folder {d} does not exist")
            stems = image_index(img_dir)
            for line, token in read_list(p):
                source = f"listed in {p} line {line}"
                if looks_like_path(token):
                    image = list_path(token, cfg.root, p)
                    if "/" not in token and "\\" not in token and not image.exists():
                        image = img_dir / token  # a bare file name: in the images folder
                    stem = image.stem
                else:
                    stem = token
                    image = stems.get(stem, img_dir / f"{stem}.jpg")
                xml = ann_dir / f"{stem}.xml"
                records.append(_record(image, xml, index, source, devkit, xml))
        elif p.is_dir():
            sub = substitute(p / "x", {img_name, "JPEGImages"}, ann_name, None)
            parallel = sub.parent if sub is not None and sub.parent.is_dir() else None
            used: set[Path] = set()
            for image in images_under(p):
                cands = _xml_candidates(cfg, image)
                s = cands[0]
                default = s if s is not None else cfg.root / ann_name / f"{image.stem}.xml"
                xml = first_existing(cands)
                if xml is not None:
                    used.add(xml)
                records.append(_record(image, xml, index, f"in folder {p}", False, default))
            if parallel is not None:
                for xml in sorted(parallel.rglob("*.xml")):
                    if xml not in used:
                        orphans.append(Issue(xml, "annotation without an image", "no-image", "record"))
        else:
            raise entry_error(cfg, split, entry, f"no such list file or folder ({p})")
    if records and all(r.ann is None for r in records):
        raise entry_error(cfg, split, ", ".join(cfg.entries(split)),
                          f"no annotation XML found for any of its {len(records)} images")
    return records, orphans
