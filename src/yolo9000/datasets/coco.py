"""COCO instances JSON datasets.

A split entry is an instances JSON (``annotations/instances_val2017.json``). Image files are looked up
by their ``file_name`` in, in order: ``<root>/<images>`` (the YAML's ``images:``), ``<root>/images``,
``<root>/images/<split>`` and ``<root>/<split>`` (``<split>`` from the JSON's name, e.g. ``val2017``),
the JSON's folder, the folder above it, and ``<root>``; the first that holds the first few images wins.

Boxes: ``bbox`` x, y, w, h -> x1, y1, x1 + w, y1 + h; ``iscrowd`` and ``area`` kept. Categories map to
class indices by name, in ``names`` order; an annotation of a category not in ``names`` is a bad box.
Images without annotations are images without objects (COCO has such images; not an error).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from yolo9000.datasets._raw import RawBox, RawRecord, entry_error, resolve
from yolo9000.datasets.records import DatasetConfig, Issue
from yolo9000.ops.boxes import box_convert


def _image_dir(cfg: DatasetConfig, json_path: Path, file_names: list[str]) -> Path:
    split_name = json_path.stem.split("_", 1)[-1]  # instances_val2017 -> val2017
    cands: list[Path] = []
    if cfg.images:
        cands.append(resolve(cfg.root, cfg.images))
    cands += [cfg.root / "images", cfg.root / "images" / split_name, cfg.root / split_name, json_path.parent,
              json_path.parent.parent, cfg.root]
    probe = file_names[:20]
    best, hits = cands[0], 0
    for c in cands:
        n = sum((c / f).is_file() for f in probe)
        if n > hits:
            best, hits = c, n
        if probe and n == len(probe):
            break
    return best


def sniff(cfg: DatasetConfig, entry: str) -> bool:
    """Whether a split entry looks like COCO: a ``.json`` file."""
    p = resolve(cfg.root, entry)
    return p.suffix.lower() == ".json" and p.is_file()


def _bad_file(path: Path, reason: str) -> Issue:
    return Issue(path, reason, "malformed", "file")


def scan(cfg: DatasetConfig, split: str) -> tuple[list[RawRecord], list[Issue]]:
    """The records of every COCO JSON of ``split`` (one per image, its boxes x1, y1, x2, y2 pixels) and the
    issues found (a malformed file is skipped whole; a malformed image or annotation on its own)."""
    index = {n: i for i, n in enumerate(cfg.names)}
    records: list[RawRecord] = []
    issues: list[Issue] = []
    for entry in cfg.entries(split):
        jp = resolve(cfg.root, entry)
        if not jp.is_file():
            raise entry_error(cfg, split, entry, f"no such COCO JSON file ({jp})")
        data = _read_json(jp, issues)
        if data is None:
            continue
        categories = _read_categories(jp, data["categories"], index, issues)
        if categories is None:
            continue
        by_id = _read_images(cfg, jp, data["images"], issues)
        records += by_id.values()
        _set_corners(_read_annotations(jp, data.get("annotations", []), by_id, *categories, issues))
    return records, issues


def _read_json(jp: Path, issues: list[Issue]) -> dict[str, Any] | None:
    """The COCO JSON ``jp`` as a dict with the lists 'images' and 'categories' (and 'annotations' if any);
    None, with the issue added to ``issues``, if it is not UTF-8, not JSON or not of that shape."""
    try:
        data: Any = json.loads(jp.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        issues.append(_bad_file(jp, f"not a UTF-8 text file ({e.reason} at byte {e.start})"))
        return None
    except json.JSONDecodeError as e:
        issues.append(_bad_file(jp, f"malformed JSON ({e.msg} at line {e.lineno} column {e.colno})"))
        return None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("categories"), list) \
            or not isinstance(data.get("annotations", []), list):
        issues.append(_bad_file(jp, "malformed COCO JSON (needs the lists 'images', 'annotations' and "
                                    "'categories')"))
        return None
    return data


def _read_categories(jp: Path, categories: list[Any], index: dict[str, int],
                     issues: list[Issue]) -> tuple[dict[Any, int], dict[Any, str]] | None:
    """``{category id: class index}`` (the categories named in ``index``, names -> indices) and ``{category
    id: name}`` (all of them); None, with the issue added, if a category lacks an id or a name."""
    cat_label: dict[Any, int] = {}
    cat_name: dict[Any, str] = {}
    for k, c in enumerate(categories):
        if not isinstance(c, dict) or "id" not in c or not isinstance(c.get("name"), str):
            issues.append(_bad_file(jp, f"malformed COCO JSON (categories[{k}] needs an id and a name)"))
            return None
        cat_name[c["id"]] = c["name"]
        if c["name"] in index:
            cat_label[c["id"]] = index[c["name"]]
    return cat_label, cat_name


def _read_images(cfg: DatasetConfig, jp: Path, images: list[Any], issues: list[Issue]) -> dict[Any, RawRecord]:
    """``{image id: record}`` (no boxes yet), in the JSON's order, the files looked up in :func:`_image_dir`'s
    folder; an image without an id or a file_name, or of an id seen before, is an issue."""
    seen: set[Any] = set()
    entries = []
    for k, im in enumerate(images):
        if not isinstance(im, dict) or "id" not in im or not isinstance(im.get("file_name"), str):
            issues.append(Issue(jp, f"images[{k}]: needs an id and a file_name", "malformed", "record"))
            continue
        if im["id"] in seen:
            issues.append(Issue(jp, f"images[{k}]: image id {im['id']!r} appears twice", "duplicate", "record"))
            continue
        seen.add(im["id"])
        entries.append(im)
    folder = _image_dir(cfg, jp, [im["file_name"] for im in entries])
    return {im["id"]: RawRecord(folder / im["file_name"], jp, f"image id {im['id']!r} in {jp}", image_id=im["id"])
            for im in entries}


def _read_annotations(jp: Path, annotations: list[Any], by_id: dict[Any, RawRecord], cat_label: dict[Any, int],
                      cat_name: dict[Any, str], issues: list[Issue]) -> list[RawBox]:
    """Add each annotation to its image's record in ``by_id`` as a :class:`RawBox`, its ``values`` still COCO's
    x, y, w, h, labelled through ``cat_label``, or with its problem (a bbox not of 4 finite numbers, a
    category unknown); an annotation lacking a field or of an unknown image is an issue. Returns the boxes
    with x, y, w, h values (not the malformed ones), for :func:`_set_corners`."""
    read: list[RawBox] = []
    for k, a in enumerate(annotations):
        aid = a.get("id", k) if isinstance(a, dict) else k
        where = f"annotation id {aid!r}"
        if not isinstance(a, dict) or not all(key in a for key in ("image_id", "category_id", "bbox")):
            issues.append(Issue(jp, f"annotations[{k}]: needs image_id, category_id and bbox", "malformed", "box"))
            continue
        rec = by_id.get(a["image_id"])
        if rec is None:
            issues.append(Issue(jp, f"{where}: image_id {a['image_id']!r} is not in 'images' (an annotation "
                                    f"without an image)", "no-image", "box"))
            continue
        bbox = a["bbox"]
        ok = isinstance(bbox, list) and len(bbox) == 4 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in bbox)
        if not ok:
            problem = ("malformed", f"{where}: bbox {bbox!r} is not 4 numbers")
            rec.boxes.append(RawBox(None, where=where, problem=problem))
            continue
        x, y, w, h = (float(v) for v in bbox)
        area = a.get("area")
        area = float(area) if isinstance(area, (int, float)) and not isinstance(area, bool) else None
        # COCO's x, y, w, h until _set_corners converts them all at once
        box = RawBox((x, y, w, h), iscrowd=bool(a.get("iscrowd", 0)), area=area, where=where)
        read.append(box)
        cid = a["category_id"]
        if cid not in cat_name:
            box.problem = ("unknown-class", f"{where}: category_id {cid!r} is not in 'categories'")
        elif cid not in cat_label:
            box.problem = ("unknown-class", f"{where}: category {cat_name[cid]!r} (id {cid!r}) is not in names")
        else:
            box.label = cat_label[cid]
        rec.boxes.append(box)
    return read


def _set_corners(boxes: list[RawBox]) -> None:
    """Replace the COCO x, y, w, h ``values`` of ``boxes`` by their corners x1, y1, x2, y2 (pixels), in one
    :func:`~yolo9000.ops.boxes.box_convert`."""
    if not boxes:
        return
    with np.errstate(over="ignore"):  # a huge value overflows to inf: the loader reports the box as not finite
        xyxy = box_convert(np.array([b.values for b in boxes], np.float64), "xywh", "xyxy").tolist()
    for b, v in zip(boxes, xyxy):
        b.values = tuple(v)
