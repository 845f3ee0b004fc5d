"""What the format readers hand the common loader: records before their image is looked at."""
from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from yolo9000.datasets.records import DatasetConfig, Issue
from yolo9000.errors import Yolo9000Error, file_error
from yolo9000.images import IMAGE_EXTS

# preference when one folder holds several files with the same stem
_EXT_ORDER = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif")


class BadRecord(Exception):
    """Raised by an annotation parser: the whole annotation file is unusable (kind, reason)."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass
class RawBox:
    """One annotated object before it is checked against its image.

    ``values`` are pixel corners x1, y1, x2, y2, or (``relative``) YOLO's cx, cy, w, h in [0, 1];
    None when they could not be read. ``problem`` (kind, reason) marks a box already known bad.
    """

    values: tuple[float, float, float, float] | None
    label: int = -1
    difficult: bool = False
    iscrowd: bool = False
    area: float | None = None
    where: str = ""
    line: int | None = None
    problem: tuple[str, str] | None = None
    relative: bool = False


@dataclass
class RawRecord:
    """An image of a split, its annotation file, and how to read its boxes.

    ``parse`` (run in a worker thread) returns (boxes, declared (width, height) or None) or raises
    :class:`BadRecord`; ``boxes`` is used as it is when ``parse`` is None. ``problem`` is a record-level
    (kind, reason, file) found while listing; ``warnings`` carry notes that spoil nothing.
    """

    image: Path
    ann: Path | None
    source: str = ""
    image_id: Hashable | None = None
    boxes: list[RawBox] = field(default_factory=list)
    parse: Callable[[], tuple[list[RawBox], tuple[int, int] | None]] | None = None
    problem: tuple[str, str, Path] | None = None
    warnings: list[Issue] = field(default_factory=list)


def resolve(root: Path, entry: str) -> Path:
    p = Path(entry).expanduser()
    return p if p.is_absolute() else root / p


def entry_error(cfg: DatasetConfig, split: str, entry: str, problem: str):
    return file_error(cfg.yaml, f"split {split!r} entry {entry!r}: {problem}")


def read_list(path: Path) -> list[tuple[int, str]]:
    """Non-blank, non-comment lines of a split list file as (line number, first token)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise file_error(path, f"not a UTF-8 text file ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise file_error(path, f"cannot read ({e.strerror or e})") from None
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if s and not s.startswith("#"):
            out.append((i, s.split()[0] if not looks_like_path(s) else s))
    return out


def looks_like_path(token: str) -> bool:
    return "/" in token or "\\" in token or Path(token).suffix.lower() in IMAGE_EXTS


def list_path(token: str, root: Path, list_file: Path) -> Path:
    """An image path in a list file: absolute, or relative to the dataset root (else to the list's folder)."""
    p = Path(token).expanduser()
    if p.is_absolute():
        return p
    if token.startswith("./") or token.startswith("../"):
        return (list_file.parent / p).resolve()
    q = root / p
    if not q.exists() and (list_file.parent / p).exists():
        return list_file.parent / p
    return q


def image_index(folder: Path) -> dict[str, Path]:
    """Stem -> image file of one folder (not recursive), preferring .jpg where stems repeat."""
    found: dict[str, list[Path]] = {}
    with os.scandir(folder) as it:
        for e in it:
            suffix = os.path.splitext(e.name)[1].lower()
            if suffix in IMAGE_EXTS and e.is_file():
                found.setdefault(os.path.splitext(e.name)[0], []).append(Path(e.path))
    rank = {s: i for i, s in enumerate(_EXT_ORDER)}
    return {stem: min(ps, key=lambda q: (rank.get(q.suffix.lower(), 99), q.name)) for stem, ps in found.items()}


def images_under(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursive), sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        out += [Path(dirpath) / f for f in sorted(filenames) if os.path.splitext(f)[1].lower() in IMAGE_EXTS]
    return out


def probe_images(root: Path, p: Path, limit: int = 20) -> list[Path]:
    """Up to ``limit`` images a split entry ``p`` points to, to guess a dataset's format: the first images
    of a folder (recursive, sorted), the image itself, or the first image paths of a list file (stems
    are not images: the VOC reader looks at those); [] for anything else."""
    if p.is_dir():
        out: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(p):
            dirnames.sort()
            out += [Path(dirpath) / f for f in sorted(filenames) if os.path.splitext(f)[1].lower() in IMAGE_EXTS]
            if len(out) >= limit:
                break
        return out[:limit]
    if not p.is_file() or p.suffix.lower() == ".json":
        return []
    if p.suffix.lower() in IMAGE_EXTS:
        return [p]
    try:
        lines = read_list(p)
    except Yolo9000Error:  # not a text list: no evidence
        return []
    return [list_path(token, root, p) for _, token in lines[:limit] if looks_like_path(token)]


def substitute(path: Path, from_names: Iterable[str], to_name: str, suffix: str | None) -> Path | None:
    """``path`` with its last component named one of ``from_names`` replaced by ``to_name`` (and the
    file's suffix by ``suffix``), as darknet maps ``images/x.jpg`` -> ``labels/x.txt``; None if no
    component matches."""
    parts = list(path.parts)
    names = set(from_names)
    for i in range(len(parts) - 2, -1, -1):  # not the file name itself
        if parts[i] in names:
            parts[i] = to_name
            out = Path(*parts)
            return out.with_suffix(suffix) if suffix is not None else out
    return None


def first_existing(candidates: Iterable[Path | None]) -> Path | None:
    for c in candidates:
        if c is not None and c.is_file():
            return c
    return None
