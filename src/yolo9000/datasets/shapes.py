"""A small generated detection dataset: coloured shapes on textured backgrounds, built locally (no download).

>>> yaml_path = make_shapes(Path("datasets/shapes"))      # 2000 train + 100 val 160x160 PNGs, YOLO txt labels
>>> ds = load_dataset(yaml_path, "train")

Layout (YOLO txt, as :mod:`yolo9000.datasets.yolo` reads it)::

    root/shapes.yaml               path: ., format: yolo, train: images/train, val: images/val, names
    root/shapes.json               the parameters it was made with (the reuse check)
    root/images/{train,val}/000000.png
    root/labels/{train,val}/000000.txt

Every image has a background of a random colour with a smooth colour texture, a stripe pattern and
grey noise (at most ``_BG_AMPLITUDE`` away from its base colour per channel), and 1 to 4 objects of a
random class, size (10% to 44% of the image side, at least 8 px), rotation, colour and position. Objects
lie fully inside the image (1 px clear of its edge) and overlap one another little (boxes share at most
``_MAX_OVERLAP`` of the smaller box), so none is hidden. Shapes are drawn 4x supersampled with
:class:`PIL.ImageDraw.ImageDraw` and box-filtered down (anti-aliased); pixels the shape covers less than a
quarter of are left out, and the remaining edge pixels are at least 60% object colour, so each object's
box, the tight bounding box of the pixels it colours, has object colour on every edge and none outside.
Object colours differ from the background's base colour by at least ``_MIN_CONTRAST`` in some channel.

Image ``i`` of a split depends only on (``seed``, split, ``i``, ``size``, ``classes``): the same seed gives
the same PNG bytes, and the val images do not change with ``n_train``. A set is written into a temporary
folder beside ``root`` and renamed into place, so an interrupted run never leaves a set that looks
complete; a complete set made with the same parameters is reused.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from PIL import Image, ImageDraw

from yolo9000.errors import Yolo9000Error, file_error
from yolo9000.fields import option
from yolo9000.fileio import atomic_write, check_output_dir
from yolo9000.ops.boxes import box_convert

VERSION = 1  # bump when the images or labels a seed gives change
DEFAULT_CLASSES = ("circle", "square", "triangle")
SPLIT_IDS = {"train": 0, "val": 1}
MANIFEST = "shapes.json"
YAML_NAME = "shapes.yaml"
_GENERATOR = "yolo9000.datasets.shapes"

_SS = 4                  # supersampling factor of the shape masks
_MIN_COVER = 0.25        # pixels covered less than this are not drawn
_EDGE_ALPHA = 0.6        # the least opacity of a drawn pixel (coverage _MIN_COVER)
_BG_AMPLITUDE = 22       # background pixels lie within this of the base colour, per channel
_MIN_CONTRAST = 110      # object colours differ from the base colour by this in some channel
_MAX_OVERLAP = 0.3       # intersection of two boxes / area of the smaller
_SIZE_RANGE = (0.10, 0.44)  # object size (circumscribed diameter) as a fraction of the image side


def _polygon(n: int, start: float = -math.pi / 2) -> np.ndarray:
    a = start + 2 * math.pi * np.arange(n) / n
    return np.stack([np.cos(a), np.sin(a)], 1)


def _star() -> np.ndarray:
    p = _polygon(10)
    p[1::2] *= 0.45
    return p


def _cross() -> np.ndarray:
    t = 0.33
    return np.array([(-t, -1), (t, -1), (t, -t), (1, -t), (1, t), (t, t), (t, 1), (-t, 1), (-t, t), (-1, t),
                     (-1, -t), (-t, -t)]) * (1 / math.hypot(1, t))


# shape name -> (unit outline within the unit circle, or None for an ellipse; rotation range in degrees)
SHAPES: dict[str, tuple[np.ndarray | None, float]] = {
    "circle": (_polygon(96), 0.0),
    "ellipse": (None, 180.0),
    "square": (_polygon(4, -math.pi / 4), 30.0),
    "rectangle": (np.array([(-1, -0.55), (1, -0.55), (1, 0.55), (-1, 0.55)]) / math.hypot(1, 0.55), 30.0),
    "triangle": (_polygon(3), 180.0),
    "pentagon": (_polygon(5), 180.0),
    "hexagon": (_polygon(6), 180.0),
    "star": (_star(), 180.0),
    "cross": (_cross(), 45.0),
}


@dataclass(frozen=True)
class ShapeObject:
    """One drawn object: class index, tight box (x1, y1, x2, y2) in whole pixels (x2, y2 exclusive: the
    object colours columns x1..x2-1 and rows y1..y2-1), and its RGB colour."""

    label: int
    box: tuple[int, int, int, int]
    color: tuple[int, int, int]


@dataclass(frozen=True)
class ShapesImage:
    """One generated image: (size, size, 3) uint8 RGB pixels, the background's base colour, the objects
    in drawing order (later ones on top)."""

    pixels: np.ndarray
    background: tuple[int, int, int]
    objects: tuple[ShapeObject, ...]


@dataclass(frozen=True)
class ShapesOptions:
    """``yolo9000 shapes``' options (field names are the flags) and :func:`make_shapes`' defaults."""

    out: str = option("datasets/shapes", "dataset folder")
    train: int = option(2000, "train images")
    val: int = option(100, "val images")
    size: int = option(160, "image side in pixels")
    seed: int = option(0, "random seed")
    classes: str = option(",".join(DEFAULT_CLASSES),
                          f"comma-separated shape names (available: {','.join(SHAPES)})")


def _check_params(n_train: int, n_val: int, size: int, seed: int, classes: Sequence[str]) -> tuple[str, ...]:
    for name, v, lo in (("n_train", n_train, 1), ("n_val", n_val, 1), ("size", size, 32), ("seed", seed, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise Yolo9000Error(f"shapes: {name} must be an integer >= {lo}, got {v!r}")
    if size > 4096:
        raise Yolo9000Error(f"shapes: size must be at most 4096, got {size}")
    if isinstance(classes, str):
        classes = [c.strip() for c in classes.split(",")]
    classes = tuple(str(c) for c in classes)
    if not classes:
        raise Yolo9000Error("shapes: no classes given")
    unknown = [c for c in classes if c not in SHAPES]
    if unknown:
        raise Yolo9000Error(f"shapes: unknown shape(s) {', '.join(map(repr, unknown))} "
                            f"(choose from {', '.join(SHAPES)})")
    dup = sorted({c for c in classes if classes.count(c) > 1})
    if dup:
        raise Yolo9000Error(f"shapes: classes repeat {', '.join(map(repr, dup))}")
    return classes


def _background(rng: np.random.Generator, size: int) -> tuple[np.ndarray, tuple[int, int, int]]:
    base = rng.integers(40, 216, 3)
    # smooth colour blotches (bilinear upsampling keeps them within +-1), amplitude 10
    grid = rng.uniform(-1, 1, (3, 5, 5)).astype(np.float32)
    blotch = np.stack([np.asarray(Image.fromarray(g, "F").resize((size, size), Image.BILINEAR)) for g in grid], 2)
    # grey stripes of random direction and period, amplitude 5; grey noise, amplitude 7
    ang = rng.uniform(0, math.pi)
    period = rng.uniform(6, 24)
    phase = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    stripes = np.sin((xx * math.cos(ang) + yy * math.sin(ang)) * (2 * math.pi / period) + phase)
    noise = rng.integers(-7, 8, (size, size)).astype(np.float32)
    bg = base.astype(np.float32) + 10 * np.clip(blotch, -1, 1) + (5 * stripes + noise)[..., None]
    return bg, (int(base[0]), int(base[1]), int(base[2]))


def _mask(shape: str, rng: np.random.Generator, diameter: float) -> np.ndarray:
    """The shape's opacity (float32, 0 where not drawn) on a small canvas with a 1+ px empty margin."""
    outline, max_rot = SHAPES[shape]
    r = diameter / 2
    if outline is None:  # ellipse: axes 1 and 0.45..0.7
        t = 2 * math.pi * np.arange(96) / 96
        outline = np.stack([np.cos(t), rng.uniform(0.45, 0.7) * np.sin(t)], 1)
    rot = math.radians(rng.uniform(-max_rot, max_rot)) if max_rot else 0.0
    c, s = math.cos(rot), math.sin(rot)
    pts = outline @ np.array([[c, s], [-s, c]]) * r
    n = int(math.ceil(diameter)) + 3
    centre = n / 2 + rng.uniform(-0.5, 0.5, 2)  # a random sub-pixel position
    pts = (pts + centre) * _SS
    big = Image.new("L", (n * _SS, n * _SS), 0)
    ImageDraw.Draw(big).polygon([tuple(p) for p in pts.tolist()], fill=255)
    cover = np.asarray(big.resize((n, n), Image.BOX), np.float32) / 255.0
    return np.where(cover >= _MIN_COVER, _EDGE_ALPHA + (1 - _EDGE_ALPHA) * (cover - _MIN_COVER) / (1 - _MIN_COVER),
                    0.0).astype(np.float32)


def _color(rng: np.random.Generator, base: tuple[int, int, int]) -> tuple[int, int, int]:
    b = np.array(base)
    while True:
        c = rng.integers(0, 256, 3)
        if np.abs(c - b).max() >= _MIN_CONTRAST:
            return int(c[0]), int(c[1]), int(c[2])


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return iw * ih / small


def render(seed: int, split: str, index: int, size: int = 160,
           classes: Sequence[str] = DEFAULT_CLASSES) -> ShapesImage:
    """Image ``index`` of ``split`` (``train`` or ``val``) of the set made with ``seed``, ``size``, ``classes``."""
    rng = np.random.default_rng([VERSION, int(seed), SPLIT_IDS[split], int(index)])
    img, base = _background(rng, size)
    lo = max(8.0, _SIZE_RANGE[0] * size)
    hi = max(lo, _SIZE_RANGE[1] * size)
    objects: list[ShapeObject] = []
    for _ in range(int(rng.integers(1, 5))):
        label = int(rng.integers(len(classes)))
        color = _color(rng, base)
        placed = False
        for _attempt in range(4):
            alpha = _mask(classes[label], rng, rng.uniform(lo, hi))
            ys, xs = np.nonzero(alpha)
            bx1, by1, bx2, by2 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
            # offsets keeping the box 1 px clear of the image edge
            ox_lo, ox_hi = 1 - bx1, size - 1 - bx2
            oy_lo, oy_hi = 1 - by1, size - 1 - by2
            if ox_hi < ox_lo or oy_hi < oy_lo:
                continue
            for _try in range(8):
                ox, oy = int(rng.integers(ox_lo, ox_hi + 1)), int(rng.integers(oy_lo, oy_hi + 1))
                box = (bx1 + ox, by1 + oy, bx2 + ox, by2 + oy)
                if all(_overlap(box, o.box) <= _MAX_OVERLAP for o in objects):
                    placed = True
                    break
            if placed:
                break
        if not placed:
            continue
        a = alpha[by1:by2, bx1:bx2, None]
        region = img[box[1]:box[3], box[0]:box[2]]
        region *= 1 - a
        region += a * np.array(color, np.float32)
        objects.append(ShapeObject(label, box, color))
    pixels = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return ShapesImage(pixels, base, tuple(objects))


def _label_text(objects: Sequence[ShapeObject], size: int) -> str:
    """YOLO label lines ``class cx cy w h`` (fractions of the ``size`` x ``size`` image) of the objects."""
    corners_px = np.array([o.box for o in objects], np.float64).reshape(-1, 4)
    boxes_cxcywh_norm = box_convert(corners_px, "xyxy", "cxcywh") / size
    return "".join(f"{o.label} " + " ".join(f"{v:.6f}" for v in b) + "\n"
                   for o, b in zip(objects, boxes_cxcywh_norm.tolist()))


def _params(n_train: int, n_val: int, size: int, seed: int, classes: tuple[str, ...]) -> dict:
    return {"n_train": int(n_train), "n_val": int(n_val), "size": int(size), "seed": int(seed),
            "classes": list(classes)}


def _is_complete(root: Path, params: dict) -> bool:
    """True if ``root`` holds a finished set made with ``params`` (manifest, YAML, every image and label)."""
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict) or manifest.get("generator") != _GENERATOR \
            or manifest.get("version") != VERSION or manifest.get("params") != params:
        return False
    if not (root / YAML_NAME).is_file():
        return False
    for split, n in (("train", params["n_train"]), ("val", params["n_val"])):
        for sub, ext in (("images", ".png"), ("labels", ".txt")):
            folder = root / sub / split
            try:
                names = {e.name for e in os.scandir(folder) if e.is_file()}
            except OSError:
                return False
            if names != {f"{i:06d}{ext}" for i in range(n)}:
                return False
    return True


def _foreign_file(root: Path) -> Path | None:
    """The first file under ``root`` that a shapes set does not hold (its manifest, its YAML, and
    ``images|labels/train|val/NNNNNN.png|txt``; a symlink is never ours), or None: the folder may be replaced by
    a remake (an older or broken set of ours)."""
    for p in sorted(root.rglob("*")):
        if p.is_dir() and not p.is_symlink():
            continue
        rel = p.relative_to(root).parts
        if not (rel in ((MANIFEST,), (YAML_NAME,)) or (
                len(rel) == 3 and (rel[0], rel[1]) in {(s, t) for s in ("images", "labels") for t in ("train", "val")}
                and p.is_file() and not p.is_symlink()
                and p.suffix == (".png" if rel[0] == "images" else ".txt") and p.stem.isdigit())):
            return p
    return None


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill would end the process there; leave its folder alone
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _remove_stale(root: Path) -> None:
    """Remove temporary folders that interrupted runs (of processes no longer running) left beside ``root``."""
    for p in root.parent.glob(f".{root.name}.*-*"):
        parts = p.name.rsplit("-", 2)
        if len(parts) == 3 and parts[1].isdigit() and p.is_dir() and not _pid_alive(int(parts[1])):
            shutil.rmtree(p, ignore_errors=True)


def _write_split(tmp: Path, split: str, n: int, size: int, seed: int, classes: tuple[str, ...],
                 workers: int) -> None:
    img_dir, lab_dir = tmp / "images" / split, tmp / "labels" / split
    img_dir.mkdir(parents=True)
    lab_dir.mkdir(parents=True)

    def one(i: int) -> None:
        im = render(seed, split, i, size, classes)
        Image.fromarray(im.pixels, "RGB").save(img_dir / f"{i:06d}.png", optimize=False, compress_level=6)
        (lab_dir / f"{i:06d}.txt").write_text(_label_text(im.objects, size), encoding="utf-8")

    if workers > 1 and n > 8:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(n)))
    else:
        for i in range(n):
            one(i)


def _build(root: Path, n_train: int, n_val: int, size: int, seed: int,
           classes: Sequence[str], workers: int | None = None) -> tuple[Path, bool]:
    """(the YAML, whether an existing set was reused)."""
    classes = _check_params(n_train, n_val, size, seed, classes)
    params = _params(n_train, n_val, size, seed, classes)
    root = Path(root).expanduser().absolute()
    if _is_complete(root, params):
        return root / YAML_NAME, True
    if root.exists() and root.is_dir() and any(root.iterdir()):
        if (foreign := _foreign_file(root)) is not None:  # a remake replaces the folder: only ours may go
            raise file_error(root, f"exists and holds {foreign}, which this generator did not write; choose "
                                   f"another folder (or move that file out)")
    check_output_dir(root, "the dataset folder")
    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(root)
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = root.parent / f".{root.name}.tmp-{token}"
    workers = workers or min(4, os.cpu_count() or 1)
    try:
        tmp.mkdir()
        for split, n in (("train", n_train), ("val", n_val)):
            _write_split(tmp, split, n, size, seed, classes, workers)
        header = (f"# Generated by yolo9000.datasets.shapes: {n_train} train / {n_val} val images of {size}x{size}.\n"
                  f"# Remake with: yolo9000 shapes --out DIR --train {n_train} --val {n_val} --size {size} "
                  f"--seed {seed} --classes {','.join(classes)}\n")
        body = yaml.safe_dump({"path": ".", "format": "yolo", "train": "images/train", "val": "images/val",
                               "names": list(classes), "imgsz": max(32, round(size / 32) * 32)},
                              sort_keys=False, default_flow_style=None)
        (tmp / YAML_NAME).write_text(header + body, encoding="utf-8")
        manifest = {"generator": _GENERATOR, "version": VERSION, "params": params,
                    "files": {"train": n_train, "val": n_val}}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if _is_complete(root, params):  # another process finished the same set meanwhile
            return root / YAML_NAME, True
        old = None
        if root.exists():  # an older or broken set of ours (or an empty folder): move aside, then delete
            old = root.parent / f".{root.name}.old-{token}"
            os.replace(root, old)
        try:
            os.replace(tmp, root)
        except OSError:
            if _is_complete(root, params):  # another process renamed its copy in first
                return root / YAML_NAME, True
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root / YAML_NAME, False


def make_shapes(root: Path, n_train: int = ShapesOptions.train, n_val: int = ShapesOptions.val,
                size: int = ShapesOptions.size, seed: int = ShapesOptions.seed,
                classes: Sequence[str] = DEFAULT_CLASSES) -> Path:
    """Write the shapes dataset into ``root`` (reusing a complete set made with the same parameters) and
    return its YAML, ``root/shapes.yaml``.

    ``root`` must be absent, empty, or a shapes set (it is replaced when its parameters differ or it is
    incomplete). ``classes`` are shape names from :data:`SHAPES` (a comma-separated string works too).
    Bad parameters raise a one-line :class:`~yolo9000.errors.Yolo9000Error`.
    """
    return _build(root, n_train, n_val, size, seed, classes)[0]


# ------------------------------------------------------------------------------ the joint-training demo
#: The joint demo's WordTree (darknet's tree format: a name and its parent's line): top level {polygon,
#: round}; polygon -> {triangle, square, pentagon}; round -> {circle, ellipse}.
JOINT_TREE = ("polygon -1", "round -1", "triangle 0", "square 0", "pentagon 0", "circle 1", "ellipse 1")
JOINT_DETECTION = ("triangle", "square", "circle")  # the classes seen with boxes
JOINT_ALL = ("triangle", "square", "pentagon", "circle", "ellipse")  # with classification images


@dataclass(frozen=True)
class JointShapes:
    """The files of the joint demo (:func:`make_joint_shapes`)."""

    tree: Path            # the WordTree file (:data:`JOINT_TREE`)
    detection: Path       # detection YAML: boxes of :data:`JOINT_DETECTION` only
    classification: Path  # folder of one folder per class name, one object per image, no boxes
    test: Path            # YAML with boxes of every class of :data:`JOINT_ALL`, for open-vocabulary scoring


def make_joint_shapes(root: Path, size: int = 128, n_det: int = 300, n_cls: int = 100, n_test: int = 100,
                      cls_classes: Sequence[str] = JOINT_ALL) -> JointShapes:
    """YOLO9000's joint problem in miniature under ``root`` (complete parts made before are reused):
    detection images with boxes of three shapes, classification images (one shape each, no box) of
    ``cls_classes`` -- by default all five, so pentagon and ellipse are learnt without ever a box -- and a
    test set with boxes of all five."""
    root = Path(root).expanduser().absolute()
    check_output_dir(root, "the demo folder")
    root.mkdir(parents=True, exist_ok=True)
    tree = root / "shapes.tree"
    text = "\n".join(JOINT_TREE) + "\n"
    if not tree.is_file() or tree.read_text() != text:
        with atomic_write(tree, "w") as f:
            f.write(text)
    det = make_shapes(root / "det", n_train=n_det, n_val=max(1, n_test // 4), size=size, seed=0,
                      classes=JOINT_DETECTION)
    test = make_shapes(root / "test", n_train=1, n_val=n_test, size=size, seed=2, classes=JOINT_ALL)
    cls_classes = tuple(cls_classes)
    cls = root / ("cls" if cls_classes == JOINT_ALL else "cls-" + "-".join(cls_classes))
    for c in cls_classes:
        folder = cls / c
        if folder.is_dir() and len(list(folder.glob("*.png"))) >= n_cls:
            continue
        tmp = cls / f".{c}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"  # a class appears whole or not at all
        tmp.mkdir(parents=True)
        written, i = 0, 0
        while written < n_cls:  # one object per image, as an ImageNet photo mostly shows one thing
            im = render(1, "train", i, size, (c,))
            i += 1
            if len(im.objects) == 1:
                Image.fromarray(im.pixels).save(tmp / f"{written:05d}.png")
                written += 1
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    return JointShapes(tree, det, cls, test)
