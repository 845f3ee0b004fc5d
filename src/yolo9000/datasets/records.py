"""The one internal representation of a detection dataset split, whatever its on-disk format."""
from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from yolo9000.errors import file_error
from yolo9000.ops.boxes import box_convert


def _frozen_array(a: object, dtype: type, shape: tuple[int, ...]) -> np.ndarray:
    out = np.array(a, dtype=dtype).reshape(shape)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class DatasetConfig:
    """A parsed dataset YAML.

    Attributes:
        yaml: the YAML file; root: the dataset folder (``path`` resolved against the YAML's folder, else
            the datasets folder; the YAML's folder without ``path``).
        format: ``voc``, ``coco`` or ``yolo`` (the YAML's ``format``, else inferred from the splits).
        splits: split name -> its entries (relative to ``root`` unless absolute; a missing ``../x``
            already replaced by an existing ``x``), e.g.
            ``{"train": ("VOC2007/trainval", "VOC2012/trainval"), "val": ("VOC2007/test",)}``.
        names: the class names, in label order.
        images, annotations: the folder names the YAML set (None: the format's defaults).
        imgsz: the input size training uses by default (optional ``imgsz`` key; None: the trainer's 416).
        names_file: the names file ``names`` pointed to (None: the names are in the YAML).
    """

    yaml: Path
    root: Path
    format: str
    splits: dict[str, tuple[str, ...]]
    names: tuple[str, ...]
    images: str | None = None
    annotations: str | None = None
    imgsz: int | None = None
    names_file: Path | None = None

    def entries(self, split: str) -> tuple[str, ...]:
        """The entries of ``split``, or a one-line error naming the YAML if it has none."""
        if split not in self.splits:
            have = ", ".join(self.splits) or "none"
            raise file_error(self.yaml, f"no {split!r} split (the YAML has: {have})")
        return self.splits[split]


@dataclass(frozen=True, eq=False)
class ImageRecord:
    """One image and its ground-truth boxes.

    Attributes:
        image: the image file (absolute path).
        width, height: the image's size in pixels, read from the image header (0 when unknown, i.e. the
            image could not be read).
        boxes_xyxy: (N, 4) float64 x1, y1, x2, y2 in pixels (VOC corners as the XML gives them).
        labels: (N,) int64 index into the dataset's ``names``.
        difficult: (N,) bool VOC ``difficult`` flags (False for other formats).
        iscrowd: (N,) bool COCO ``iscrowd`` flags (False for other formats).
        image_id: a stable key: the COCO image ``id``; the file stem for VOC and YOLO (the path relative to
            the dataset root, without suffix, where two files of one split share a stem).
        area: (N,) float64 box areas: the COCO annotation's ``area`` where it has one, else (x2-x1)*(y2-y1).
    """

    image: Path
    width: int
    height: int
    boxes_xyxy: np.ndarray
    labels: np.ndarray
    difficult: np.ndarray
    iscrowd: np.ndarray
    image_id: Hashable
    area: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        boxes = _frozen_array(self.boxes_xyxy, np.float64, (-1, 4))
        n = len(boxes)
        object.__setattr__(self, "image", Path(self.image))
        object.__setattr__(self, "boxes_xyxy", boxes)
        object.__setattr__(self, "labels", _frozen_array(self.labels, np.int64, (n,)))
        object.__setattr__(self, "difficult", _frozen_array(self.difficult, bool, (n,)))
        object.__setattr__(self, "iscrowd", _frozen_array(self.iscrowd, bool, (n,)))
        if self.area is None:
            sizes = box_convert(boxes, "xyxy", "xywh")
            area = sizes[:, 2] * sizes[:, 3]
        else:
            area = self.area
        object.__setattr__(self, "area", _frozen_array(area, np.float64, (n,)))

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True, eq=False)
class DetectionDataset:
    """One split of a dataset: its class names, root folder and image records (in listing order)."""

    names: tuple[str, ...]
    split: str
    root: Path
    records: tuple[ImageRecord, ...]
    format: str = ""

    def __len__(self) -> int:
        return len(self.records)

    @property
    def num_boxes(self) -> int:
        return sum(len(r) for r in self.records)

    def class_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(boxes per class, images holding the class) as two (K,) int64 arrays."""
        k = len(self.names)
        boxes = np.zeros(k, np.int64)
        images = np.zeros(k, np.int64)
        for r in self.records:
            boxes += np.bincount(r.labels, minlength=k)[:k]
            images[np.unique(r.labels)] += 1
        return boxes, images


@dataclass(frozen=True)
class Issue:
    """A problem found in a dataset: the file it is in, the reason, and (for txt labels) the line.

    ``kind`` is one of ``missing-image``, ``unreadable-image``, ``malformed``, ``unknown-class``,
    ``outside``, ``degenerate``, ``no-annotation``, ``no-image`` (an annotation without an image),
    ``duplicate``, ``negative`` (an image without any annotation, kept as an image without objects),
    ``size-mismatch``, ``empty``, ``exif-rotation`` (an EXIF orientation other than 1, from check-data).
    ``scope`` says what it spoils: ``box`` (only that box), ``record`` (the
    whole image), ``file`` (a whole annotation file holding a split, e.g. a COCO JSON) or ``none``
    (a warning).
    """

    file: Path
    reason: str
    kind: str
    scope: str = "record"
    line: int | None = None
    split: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else str(self.file)
        return f"{where}: {self.reason}"
