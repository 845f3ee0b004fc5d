"""Reading a split of any format into :class:`DetectionDataset`, checking every record on the way."""
from __future__ import annotations

import math
import os
import warnings as _warnings
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from yolo9000.datasets import coco, voc, yolo
from yolo9000.datasets._raw import BadRecord, RawBox, RawRecord, resolve
from yolo9000.datasets.config import DatasetConfig, load_dataset_config
from yolo9000.datasets.records import DetectionDataset, ImageRecord, Issue
from yolo9000.errors import Yolo9000Error, file_error, require_file
from yolo9000.images import load_image
from yolo9000.ops.boxes import box_convert
from yolo9000.words import count

TOLERANCE = 1.0  # pixels a box may reach beyond the image before it is "outside"
EXIF_ORIENTATION = 0x0112
# what a viewer does to an image before showing it, by its EXIF orientation tag (1: nothing)
_ORIENTATIONS = {2: "mirrored left-right", 3: "rotated 180 degrees", 4: "mirrored top-bottom",
                 5: "mirrored and rotated 90 degrees counter-clockwise", 6: "rotated 90 degrees clockwise",
                 7: "mirrored and rotated 90 degrees clockwise", 8: "rotated 90 degrees counter-clockwise"}
_SCANNERS = {"voc": voc.scan, "coco": coco.scan, "yolo": yolo.scan}


@dataclass(frozen=True)
class SplitScan:
    """Everything found in one split: the records that survive (with their good boxes only), the bad
    records and boxes (``issues``) and notes that spoil nothing (``warnings``)."""

    split: str
    records: tuple[ImageRecord, ...]
    issues: tuple[Issue, ...]
    warnings: tuple[Issue, ...]
    listed: int  # images the split lists (before bad records are dropped)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fmt_box(b: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:g}" for v in b) + ")"


def _image_size(path: Path, decode: bool) -> tuple[int, int] | tuple[str, str]:
    """(width, height) from the image header (and a full decode when ``decode``), or (kind, reason)."""
    if not path.is_file():
        return ("missing-image", "no such image file" if not path.exists() else "not a file")
    if decode:
        try:
            a = load_image(path)
        except Yolo9000Error as e:
            msg = str(e)
            prefix = f"{path}: "
            return ("unreadable-image", _one_line(msg[len(prefix):] if msg.startswith(prefix) else msg))
        return (int(a.shape[1]), int(a.shape[0]))
    try:
        with Image.open(path) as im:
            w, h = im.size
    except Image.UnidentifiedImageError:
        return ("unreadable-image", "not an image file")
    except Exception as e:  # noqa: BLE001 - PIL raises many kinds for corrupt headers
        return ("unreadable-image", _one_line(f"unreadable image ({e})"))
    if w < 1 or h < 1:
        return ("unreadable-image", f"image has size {w}x{h}")
    return (int(w), int(h))


def exif_orientation(path: Path) -> int | None:
    """The EXIF orientation tag (0x0112) of an image file, or None when it has none (or no readable EXIF)."""
    try:
        with Image.open(path) as im:
            value = im.getexif().get(EXIF_ORIENTATION)
    except Exception:  # noqa: BLE001 - PIL raises many kinds for corrupt EXIF; no tag is read then
        return None
    return value if isinstance(value, int) else None


def _orientation_warning(path: Path, split: str) -> Issue | None:
    o = exif_orientation(path)
    if o is None or o == 1:
        return None
    shown = _ORIENTATIONS.get(o, "as it is (the value is not a valid orientation)")
    return Issue(path, f"EXIF orientation {o}: viewers show it {shown}, training reads the pixels as stored (as "
                       f"darknet does); boxes drawn on the shown view are wrong: check them, or store the pixels "
                       f"upright and drop the tag", "exif-rotation", "none", split=split)


def _finish(raw: RawRecord, split: str, decode: bool,
            exif: bool = False) -> tuple[ImageRecord | None, list[Issue], list[Issue]]:
    """Read the annotation and the image header, check every box: (record or None if the whole record is
    bad, issues, warnings). The record holds only the good boxes. ``exif``: warn about an EXIF orientation
    other than 1."""
    warnings = [w if w.split else replace(w, split=split) for w in raw.warnings]  # the scanners' notes lack it
    if raw.problem is not None:
        kind, reason, file = raw.problem
        return None, [Issue(file, reason, kind, "record", split=split)], warnings
    boxes, declared = raw.boxes, None
    if raw.parse is not None:
        try:
            boxes, declared = raw.parse()
        except BadRecord as e:
            return None, [Issue(raw.ann or raw.image, _one_line(e.reason), e.kind, "record", split=split)], warnings
    size = _image_size(raw.image, decode)
    if isinstance(size[0], str):
        kind, reason = size  # type: ignore[misc]
        ann = f"; annotated in {raw.ann}" if raw.ann is not None and raw.ann.suffix != ".json" else ""
        src = f"; {raw.source}" if raw.source and not raw.source.startswith("in folder") else ""
        return None, [Issue(raw.image, f"{reason}{ann}{src}", kind, "record", split=split)], warnings
    w, h = size  # type: ignore[misc]
    if exif:
        note = _orientation_warning(raw.image, split)
        if note is not None:
            warnings.append(note)
    if declared is not None and declared != (w, h):
        warnings.append(Issue(raw.ann or raw.image, f"<size> says {declared[0]}x{declared[1]}, the image is {w}x{h} "
                                                    f"(the image's size is used)", "size-mismatch", "none", split=split))
    issues: list[Issue] = []
    keep: list[tuple[RawBox, tuple[float, float, float, float]]] = []
    file = raw.ann or raw.image
    for b, xyxy in zip(boxes, _pixel_corners(boxes, w, h)):
        if b.problem is not None:
            issues.append(Issue(file, _one_line(b.problem[1]), b.problem[0], "box", b.line, split))
            continue
        assert xyxy is not None
        x1, y1, x2, y2 = xyxy
        pre = f"{b.where}: " if b.where and b.line is None else ""
        if not all(math.isfinite(v) for v in xyxy):
            issues.append(Issue(file, f"{pre}box {_fmt_box(xyxy)} is not finite", "malformed", "box", b.line, split))
        elif x2 < x1 or y2 < y1:
            issues.append(Issue(file, f"{pre}degenerate box {_fmt_box(xyxy)} (x2 < x1 or y2 < y1)",
                                "degenerate", "box", b.line, split))
        elif x2 == x1 or y2 == y1:  # a point or a line: an annotation slip, not a malformed file
            warnings.append(Issue(file, f"{pre}zero-area box {_fmt_box(xyxy)} dropped (zero width or height)",
                                  "zero-area", "none", b.line, split))
        elif x1 < -TOLERANCE or y1 < -TOLERANCE or x2 > w + TOLERANCE or y2 > h + TOLERANCE:
            issues.append(Issue(file, f"{pre}box {_fmt_box(xyxy)} is outside the {w}x{h} image "
                                      f"(beyond the {TOLERANCE:g}-pixel tolerance)", "outside", "box", b.line, split))
        else:
            keep.append((b, xyxy))
    boxes_xyxy = np.array([x for _, x in keep], np.float64).reshape(-1, 4)
    sizes = box_convert(boxes_xyxy, "xyxy", "xywh")[:, 2:].tolist()
    area = [b.area if b.area is not None else bw * bh for (b, _), (bw, bh) in zip(keep, sizes)]
    rec = ImageRecord(raw.image, w, h, boxes_xyxy,
                      np.array([b.label for b, _ in keep], np.int64), np.array([b.difficult for b, _ in keep], bool),
                      np.array([b.iscrowd for b, _ in keep], bool), raw.image_id, np.array(area, np.float64))
    return rec, issues, warnings


def _pixel_corners(boxes: list[RawBox], w: int, h: int) -> list[tuple[float, ...] | None]:
    """Each box's x1, y1, x2, y2 in pixels of the w x h image (YOLO's relative cx, cy, w, h converted in one
    :func:`~yolo9000.ops.boxes.box_convert`); None for a box already known bad."""
    out: list[tuple[float, ...] | None] = [b.values if b.problem is None else None for b in boxes]
    rel = [i for i, b in enumerate(boxes) if b.problem is None and b.relative]
    if rel:
        with np.errstate(over="ignore", invalid="ignore"):  # a huge value overflows: reported as not finite
            px = box_convert(np.array([boxes[i].values for i in rel], np.float64), "cxcywh", "xyxy") * [w, h, w, h]
        for i, v in zip(rel, px.tolist()):
            out[i] = tuple(v)
    return out


def _dedupe(raws: list[RawRecord], split: str) -> tuple[list[RawRecord], list[Issue]]:
    seen: dict[Path, RawRecord] = {}
    out, warnings = [], []
    for r in raws:
        key = Path(os.path.normpath(r.image))
        if key in seen:
            warnings.append(Issue(r.image, f"listed twice ({seen[key].source}; {r.source}); used once", "duplicate",
                                  "none", split=split))
            continue
        seen[key] = r
        out.append(r)
    return out, warnings


def _image_ids(raws: list[RawRecord], root: Path) -> None:
    """Fill missing ids with the file stem; where two files share an id, use their path below the root."""
    for r in raws:
        if r.image_id is None:
            r.image_id = r.image.stem
    counts = Counter(r.image_id for r in raws)
    for r in raws:
        if counts[r.image_id] > 1:
            try:
                rel = r.image.relative_to(root)
            except ValueError:
                rel = r.image
            r.image_id = rel.with_suffix("").as_posix()


def scan_split(cfg: DatasetConfig, split: str, decode: bool = False, workers: int | None = None,
               exif: bool = False) -> SplitScan:
    """Read and check one split: every bad record and box, and the records that survive them (``exif``:
    also a warning for each image whose EXIF orientation is not 1)."""
    raws, issues = _SCANNERS[cfg.format](cfg, split)
    issues = [Issue(i.file, i.reason, i.kind, i.scope, i.line, split) for i in issues]
    raws, warnings = _dedupe(raws, split)
    _image_ids(raws, cfg.root)
    workers = workers or min(16, (os.cpu_count() or 4) + 4)
    if len(raws) > 32 and workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            done = list(pool.map(lambda r: _finish(r, split, decode, exif), raws, chunksize=16))
    else:
        done = [_finish(r, split, decode, exif) for r in raws]
    records = []
    for rec, iss, warn in done:
        if rec is not None:
            records.append(rec)
        issues += iss
        warnings += warn
    if not raws and not any(i.scope == "file" for i in issues):
        warnings.append(Issue(cfg.yaml, f"split {split!r} lists no images", "empty", "none", split=split))
    return SplitScan(split, tuple(records), tuple(issues), tuple(warnings), len(raws))


SKIP_BAD_FLAG = "--skip-bad"  # named in every notice of what it left out (skip_bad=True in Python)


def skipped_line(where: str | Path, noun: str, left_out: Sequence[object], shown: int = 3) -> str:
    """The one line that says what ``--skip-bad`` left out of ``where`` (a split, a folder):
    ``<where>: --skip-bad left out <n> <noun>s: <first>; <second>; <third>; ... (<n - shown> more)``, ``noun``
    singular (``"unreadable image"``), each item as ``str`` gives it (a path, or ``file: reason``)."""
    n = len(left_out)
    listed = "; ".join(str(x) for x in left_out[:shown]) + (f"; ... ({n - shown} more)" if n > shown else "")
    return f"{where}: {SKIP_BAD_FLAG} left out {n} {noun}{'' if n == 1 else 's'}: {listed}"


def warn_skipped(where: str | Path, noun: str, left_out: Sequence[object], shown: int = 3) -> None:
    """Say what ``--skip-bad`` left out as one warning, :func:`skipped_line` (the CLI prints it as
    ``yolo9000: warning: <line>``); nothing when nothing was. The loader and every trainer report through this."""
    if left_out:
        _warnings.warn(skipped_line(where, noun, left_out, shown), stacklevel=3)


def load_dataset(yaml_path: str | Path, split: str, skip_bad: bool = False, decode: bool = False) -> DetectionDataset:
    """Load ``split`` (``train``, ``val`` or ``test``) of the dataset YAML ``yaml_path``.

    Image sizes come from the image headers (no pixels are decoded; ``decode``: every image is decoded,
    so a truncated file is found now, as training does before its first batch). If any record is bad (see
    :func:`yolo9000.datasets.check_dataset`), raises a one-line error naming the first and counting them,
    unless ``skip_bad``: then bad boxes are dropped from their images, and images whose file or annotation
    file is broken are dropped whole. A broken annotation file holding a whole split (a malformed COCO
    JSON) is always an error.
    """
    cfg = load_dataset_config(yaml_path)
    scan = scan_split(cfg, split, decode=decode)
    fatal = [i for i in scan.issues if i.scope == "file"]
    if fatal:
        raise Yolo9000Error(f"{fatal[0].file}: {fatal[0].reason}")
    if scan.issues and not skip_bad:
        n = len(scan.issues)
        records = len({i.file for i in scan.issues})
        raise file_error(cfg.yaml, f"split {split!r} has {count(n, 'bad record')} "
                                   f"(in {count(records, 'file')}); the first: {scan.issues[0]} "
                                   f"(list them all with 'yolo9000 check-data {cfg.yaml}', or skip them with --skip-bad, skip_bad=True in Python)")
    dropped = [w for w in scan.warnings if w.kind == "zero-area"]
    if dropped:
        listed = "; ".join(str(i) for i in dropped[:3]) + ("; ..." if len(dropped) > 3 else "")
        _warnings.warn(f"{cfg.yaml}: split {split!r}: {count(len(dropped), 'zero-area box')} "
                       f"dropped: {listed}", stacklevel=2)
    warn_skipped(f"{cfg.yaml}: split {split!r}", "bad record", scan.issues)  # skip_bad: say what is left out
    return DetectionDataset(cfg.names, split, cfg.root, scan.records, cfg.format)


@dataclass(frozen=True)
class DatasetPaths:
    """What a dataset YAML makes a command read, for the output checks.

    Attributes:
        files: the YAML, its names file and the files its splits name (list files, COCO JSONs).
        folders: every folder holding an image or an annotation file of any split, and the ``images``,
            ``labels`` or ``annotations`` folders above them (no output may go there: a plot among the images
            is one more image in the next run).
    """

    files: frozenset[Path]
    folders: frozenset[Path]


def dataset_paths(yaml_path: str | Path) -> DatasetPaths:
    """The :class:`DatasetPaths` of every split of ``yaml_path``, listed once per process and YAML version
    (``val`` checks its outputs on the command line and again in :func:`~yolo9000.eval.validate`). A split
    that cannot be listed is left out: the command that reads it says why."""
    p = require_file(yaml_path, "dataset YAML")
    st = p.stat()
    return _dataset_paths(str(p.resolve()), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=4)
def _dataset_paths(yaml_path: str, mtime_ns: int, size: int) -> DatasetPaths:
    del mtime_ns, size  # cache key only: an edited YAML is listed again
    cfg = load_dataset_config(yaml_path)
    files, folders = {cfg.yaml} | ({cfg.names_file} if cfg.names_file else set()), set()
    for split, entries in cfg.splits.items():
        for entry in entries:
            p = voc.entry_path(cfg, entry) if cfg.format == "voc" else resolve(cfg.root, entry)
            (folders if p.is_dir() else files).add(p)
        try:
            raws, _ = _SCANNERS[cfg.format](cfg, split)
        except Yolo9000Error:
            continue
        folders |= {r.image.parent for r in raws} | {r.ann.parent for r in raws if r.ann is not None}
    # the roots of a split-per-folder layout (images/train, labels/val): what lands in images/ is read too
    roots = {cfg.images or "images", cfg.annotations or "annotations", "labels", "JPEGImages", "Annotations"}
    for folder in list(folders):
        for parent in folder.parents:
            if parent == cfg.root or not parent.is_relative_to(cfg.root):
                break
            if parent.name in roots:
                folders.add(parent)
    return DatasetPaths(frozenset(files), frozenset(folders))
