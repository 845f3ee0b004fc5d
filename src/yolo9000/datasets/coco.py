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
    index = {n: i for i, n in enumerate(cfg.names)}
    records: list[RawRecord] = []
    issues: list[Issue] = []
    for entry in cfg.entries(split):
        jp = resolve(cfg.root, entry)
        if not jp.is_file():
            raise entry_error(cfg, split, entry, f"no such COCO JSON file ({jp})")
        try:
            data: Any = json.loads(jp.read_text(encoding="utf-8"))
        except UnicodeDecodeError as e:
            issues.append(_bad_file(jp, f"not a UTF-8 text file ({e.reason} at byte {e.start})"))
            continue
        except json.JSONDecodeError as e:
            issues.append(_bad_file(jp, f"malformed JSON ({e.msg} at line {e.lineno} column {e.colno})"))
            continue
        if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
                or not isinstance(data.get("categories"), list) \
                or not isinstance(data.get("annotations", []), list):
            issues.append(_bad_file(jp, "malformed COCO JSON (needs the lists 'images', 'annotations' and "
                                        "'categories')"))
            continue

        cat_label: dict[Any, int] = {}
        cat_name: dict[Any, str] = {}
        bad_cats = False
        for k, c in enumerate(data["categories"]):
            if not isinstance(c, dict) or "id" not in c or not isinstance(c.get("name"), str):
                issues.append(_bad_file(jp, f"malformed COCO JSON (categories[{k}] needs an id and a name)"))
                bad_cats = True
                break
            cat_name[c["id"]] = c["name"]
            if c["name"] in index:
                cat_label[c["id"]] = index[c["name"]]
        if bad_cats:
            continue

        by_id: dict[Any, RawRecord] = {}
        entries = []
        for k, im in enumerate(data["images"]):
            if not isinstance(im, dict) or "id" not in im or not isinstance(im.get("file_name"), str):
                issues.append(Issue(jp, f"images[{k}]: needs an id and a file_name", "malformed", "record"))
                continue
            if im["id"] in by_id:
                issues.append(Issue(jp, f"images[{k}]: image id {im['id']!r} appears twice", "duplicate", "record"))
                continue
            by_id[im["id"]] = None  # type: ignore[assignment]
            entries.append(im)
        folder = _image_dir(cfg, jp, [im["file_name"] for im in entries])
        for im in entries:
            rec = RawRecord(folder / im["file_name"], jp, f"image id {im['id']!r} in {jp}", image_id=im["id"])
            by_id[im["id"]] = rec
            records.append(rec)

        read: list[RawBox] = []
        for k, a in enumerate(data.get("annotations", [])):
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
                rec.boxes.append(RawBox(None, where=where, problem=("malformed", f"{where}: bbox {bbox!r} is not 4 numbers")))
                continue
            x, y, w, h = (float(v) for v in bbox)
            area = a.get("area")
            area = float(area) if isinstance(area, (int, float)) and not isinstance(area, bool) else None
            # COCO's x, y, w, h until _set_corners below converts them all at once
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
        _set_corners(read)
    return records, issues


def _set_corners(boxes: list[RawBox]) -> None:
    """Replace the COCO x, y, w, h ``values`` of ``boxes`` by their corners x1, y1, x2, y2 (pixels), in one
    :func:`~yolo9000.ops.boxes.box_convert`."""
    if not boxes:
        return
    with np.errstate(over="ignore"):  # a huge value overflows to inf: the loader reports the box as not finite
        xyxy = box_convert(np.array([b.values for b in boxes], np.float64), "xywh", "xyxy").tolist()
    for b, v in zip(boxes, xyxy):
        b.values = tuple(v)
