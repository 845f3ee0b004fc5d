"""``check-data``: per-split, per-class counts of a dataset and every bad record, with file and reason."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from yolo9000.datasets.config import load_dataset_config
from yolo9000.datasets.loader import scan_split
from yolo9000.datasets.records import Issue
from yolo9000.errors import UnknownNameError
from yolo9000.fields import option
from yolo9000.words import count


@dataclass(frozen=True)
class SplitReport:
    """One split: the images it lists, the images and boxes that are good (what ``skip_bad`` loads),
    per-class counts of those, and the problems.

    ``class_boxes[k]`` / ``class_images[k]``: good boxes of class k / images holding one. ``negatives``:
    good images without objects. ``issues``: bad records and boxes; ``warnings``: notes that spoil nothing
    (images without annotation files in flat VOC and YOLO layouts, images listed twice, ``<size>`` differing
    from the image, an EXIF orientation other than 1: training reads the pixels as stored, as darknet).
    """

    split: str
    listed: int
    images: int
    boxes: int
    negatives: int
    class_boxes: tuple[int, ...]
    class_images: tuple[int, ...]
    issues: tuple[Issue, ...]
    warnings: tuple[Issue, ...]

    @property
    def ok(self) -> bool:
        return not self.issues


@dataclass(frozen=True)
class CheckDataOptions:
    """``yolo9000 check-data``'s options (field names are the flags)."""

    data: str = option(help="dataset YAML", flags=("data",))
    split: tuple[str, ...] | None = option(None, "splits to check; none: all the YAML has")
    fast: bool = option(False, "read image headers only instead of decoding every image")
    max_warnings: int = option(20, "warnings printed per kind", min=0)


@dataclass(frozen=True)
class DatasetReport:
    yaml: Path
    format: str
    root: Path
    names: tuple[str, ...]
    splits: tuple[SplitReport, ...]

    @property
    def issues(self) -> tuple[Issue, ...]:
        return tuple(i for s in self.splits for i in s.issues)

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(w for s in self.splits for w in s.warnings)

    @property
    def ok(self) -> bool:
        return not self.issues

    def split(self, name: str) -> SplitReport:
        """The report of split ``name``; :class:`~yolo9000.errors.UnknownNameError` (a ``KeyError``) if the
        YAML has no such split."""
        for s in self.splits:
            if s.split == name:
                return s
        raise UnknownNameError(f"{self.yaml}: no split {name!r} (it has: {', '.join(s.split for s in self.splits)})")

    def table(self) -> str:
        """The per-split summary and the per-class table (images / boxes per split)."""
        lines = [f"{self.yaml}: {self.format} dataset in {self.root}, {count(len(self.names), 'class')}"]
        for s in self.splits:
            bad_records = s.listed - s.images
            bad_boxes = sum(1 for i in s.issues if i.scope == "box")
            lines.append(f"  {s.split}: {s.images} images ({s.negatives} without objects), {s.boxes} boxes; "
                         f"{len(s.issues)} problems ({bad_records} bad images dropped, {bad_boxes} bad boxes)")
        w = max([len("class"), len("all")] + [len(n) for n in self.names])
        head1 = f"{'':{w}}" + "".join(f"  {s.split:>17}" for s in self.splits)
        head2 = f"{'class':{w}}" + "".join(f"  {'images':>8} {'boxes':>8}" for _ in self.splits)
        lines += ["", head1, head2]
        for k, n in enumerate(self.names):
            lines.append(f"{n:{w}}" + "".join(f"  {s.class_images[k]:>8} {s.class_boxes[k]:>8}" for s in self.splits))
        lines.append(f"{'all':{w}}" + "".join(f"  {s.images:>8} {s.boxes:>8}" for s in self.splits))
        return "\n".join(lines)

    def format_problems(self, max_warnings: int = CheckDataOptions.max_warnings) -> str:
        """Every bad record (one a line, ``[split] file[:line]: reason``), then the warnings (the first
        ``max_warnings`` of each kind)."""
        out = []
        issues = self.issues
        if issues:
            out.append(f"{count(len(issues), 'bad record')}:")
            out += [f"  [{i.split}] {i}" for i in issues]
        warnings = self.warnings
        if warnings:
            out.append(f"{count(len(warnings), 'warning')}:")
            by_kind: dict[str, list[Issue]] = {}
            for x in warnings:
                by_kind.setdefault(x.kind, []).append(x)
            for kind, ws in by_kind.items():
                out += [f"  [{x.split}] {x}" for x in ws[:max_warnings]]
                if len(ws) > max_warnings:
                    out.append(f"  ... and {len(ws) - max_warnings} more {kind} warnings")
        return "\n".join(out)


def check_dataset(yaml_path: str | Path, splits: list[str] | tuple[str, ...] | str | None = None,
                  decode: bool = True) -> DatasetReport:
    """Check the splits (all the YAML has, by default) of a dataset: counts per class and every bad record.

    Bad records: an image missing or unreadable (``decode``: every image fully decoded with
    :func:`yolo9000.predict.sources.load_image`; else only its header read), a malformed XML / JSON / txt line, an
    object of a class not in ``names``, a box outside the image (beyond 1 pixel) or with no area, an
    annotation without its image, and (VOCdevkit layout only) a listed image without its XML. Config
    problems (YAML, missing folders) raise a one-line :class:`~yolo9000.errors.Yolo9000Error`.
    """
    cfg = load_dataset_config(yaml_path)
    if splits is None:
        names = list(cfg.splits)
    else:
        names = [splits] if isinstance(splits, str) else list(splits)
        for s in names:
            cfg.entries(s)  # a one-line error for a split the YAML lacks
    reports = []
    k = len(cfg.names)
    for s in names:
        scan = scan_split(cfg, s, decode=decode, exif=True)
        boxes = np.zeros(k, np.int64)
        images = np.zeros(k, np.int64)
        for r in scan.records:
            boxes += np.bincount(r.labels, minlength=k)[:k]
            images[np.unique(r.labels)] += 1
        reports.append(SplitReport(s, scan.listed, len(scan.records), int(boxes.sum()),
                                   sum(1 for r in scan.records if len(r) == 0), tuple(int(x) for x in boxes),
                                   tuple(int(x) for x in images), scan.issues, scan.warnings))
    return DatasetReport(cfg.yaml, cfg.format, cfg.root, cfg.names, tuple(reports))
