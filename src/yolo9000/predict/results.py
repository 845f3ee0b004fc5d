"""Prediction results: one :class:`Results` per image, with conversions, drawing and writing.

:attr:`Results.boxes` gives the detections as a :class:`Boxes` with Ultralytics' field names (``xyxy``,
``xywh``, ``xyxyn``, ``xywhn``, ``conf``, ``cls``, ``data``); :meth:`Results.plot`, :meth:`Results.save_txt`,
:meth:`Results.save_crop`, :meth:`Results.summary` and :meth:`Results.to_json` follow Ultralytics' calls
of the same names (differences are stated in each docstring). A :class:`Results` indexes as a whole, like
detectron2's ``Instances``: ``r[r.scores > 0.5]`` is the same image's result with those detections.
"""
from __future__ import annotations

import colorsys
import inspect
import json
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch
import torchvision
from PIL import Image, ImageDraw

from yolo9000.errors import UsageError, file_error
from yolo9000.fileio import atomic_write, check_output_file, first_non_finite
from yolo9000.ops.boxes import box_convert
from yolo9000.words import count

# labels in black on a box of the class colour where torchvision can (0.23 and newer), else in the class colour
_LABEL_STYLE: dict[str, Any] = (
    {"fill_labels": True, "label_colors": (0, 0, 0)}
    if "fill_labels" in inspect.signature(torchvision.utils.draw_bounding_boxes).parameters else {})


def class_color(class_id: int) -> tuple[int, int, int]:
    """A stable, well-spread RGB colour for a class id."""
    h = (class_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, 0.75, 0.95)
    return int(r * 255), int(g * 255), int(b * 255)


Array = Union[torch.Tensor, np.ndarray]


def _scale(like: Array, w: float, h: float) -> Array:
    """(4,) ``[w, h, w, h]`` of ``like``'s kind, dtype and device, to divide (N, 4) boxes by."""
    if isinstance(like, torch.Tensor):
        return torch.tensor([w, h, w, h], dtype=like.dtype, device=like.device)
    return np.array([w, h, w, h], dtype=like.dtype)


def _detection_index(idx: Any, n: int, like: Array) -> Any:
    """``idx`` (of ``n`` detections) as an index of ``like``'s kind that keeps the leading dimension.

    An int (also numpy's, or a 0-d integer tensor or array) becomes a one-long slice, so ``x[i]`` has one row,
    not none (out of range: IndexError); a numpy index of tensors becomes a tensor, a tensor index of arrays a
    numpy array, a tensor index is moved to ``like``'s device. Slices, lists of ints or bools, integer index
    and boolean mask tensors or arrays pass on. A tuple (two dimensions) or a lone bool is a UsageError."""
    scalar = isinstance(idx, (torch.Tensor, np.ndarray)) and idx.ndim == 0
    if isinstance(idx, (bool, np.bool_)) or (scalar and idx.dtype in (torch.bool, np.bool_)):
        raise UsageError(f"index {idx!r}: a boolean index is a mask with one value per detection ({n})")
    if isinstance(idx, tuple):
        raise UsageError(f"index {idx!r}: detections take one index (an int, slice, index list or boolean mask)")
    is_int = isinstance(idx, (int, np.integer)) or (
        scalar and (idx.dtype.kind in "iu" if isinstance(idx, np.ndarray)
                    else not (idx.dtype.is_floating_point or idx.dtype.is_complex)))
    if is_int:
        i = int(idx)
        if not -n <= i < n:
            raise IndexError(f"detection {i} is out of range for {n} detections")
        i %= n
        return slice(i, i + 1)
    if isinstance(like, torch.Tensor) and isinstance(idx, np.ndarray):
        return torch.from_numpy(idx).to(like.device)
    if isinstance(like, torch.Tensor) and isinstance(idx, torch.Tensor):
        return idx.to(like.device)
    if isinstance(like, np.ndarray) and isinstance(idx, torch.Tensor):
        return idx.cpu().numpy()
    return idx


@dataclass(frozen=True, eq=False)
class Boxes:
    """The detections of one image under Ultralytics' names; all fields index together.

    Attributes (N detections; torch tensors, or numpy arrays after :meth:`numpy`):
        xyxy: (N, 4) float32 x1, y1, x2, y2 in pixels of the original image, not clipped to it: the
            values of :attr:`Results.xyxy`, darknet's, which may reach past the border. (Ultralytics clips
            its boxes, so its ``xyxy`` always lies inside the image; :attr:`Results.xyxy_clipped` is that.)
        conf: (N,) float32 scores, objectness x P(class) (:attr:`Results.scores`).
        cls: (N,) int64 class ids, indices into ``Results.names`` (:attr:`Results.class_ids`). Ultralytics
            holds them as float32; ``int(b.cls)``, ``names[int(c)]`` and ``cls == 0`` read the same on both.
        orig_shape: (height, width) of the original image, the normaliser of ``xyxyn`` and ``xywhn``.
        id: (N,) int64 track ids (:meth:`yolo9000.YOLO.track`), None when the boxes were not tracked.

    ``boxes[i]`` with an int is a Boxes of one detection whose fields keep the leading dimension
    (``xyxy`` (1, 4), ``conf`` (1,)), as Ultralytics'; slices, index lists and boolean masks select
    several. Iterating yields one such single-detection Boxes per detection.
    """

    xyxy: Array
    conf: Array
    cls: Array
    orig_shape: tuple[int, int]
    id: Array | None = None

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        if tuple(self.xyxy.shape) != (n, 4) or tuple(self.conf.shape) != (n,) or tuple(self.cls.shape) != (n,) or (
                self.id is not None and tuple(self.id.shape) != (n,)):
            raise UsageError(f"Boxes: xyxy (N, 4), conf (N,) and cls (N,) must agree; got {tuple(self.xyxy.shape)}, "
                             f"{tuple(self.conf.shape)}, {tuple(self.cls.shape)}")

    @property
    def data(self) -> Array:
        """(N, 6) float32 rows ``x1, y1, x2, y2, conf, cls`` (pixels; Ultralytics' layout, the class id as a float)."""
        if isinstance(self.xyxy, torch.Tensor):
            dt = self.xyxy.dtype
            return torch.cat([self.xyxy, self.conf[:, None].to(dt), self.cls[:, None].to(dt)], dim=1)
        dt = self.xyxy.dtype
        return np.concatenate([self.xyxy, self.conf[:, None].astype(dt), self.cls[:, None].astype(dt)], axis=1)

    @property
    def shape(self) -> tuple[int, int]:
        """``(N, 6)``, the shape of :attr:`data`."""
        return (len(self), 6)

    @property
    def is_track(self) -> bool:
        """Whether the boxes carry track ids (:attr:`id`)."""
        return self.id is not None

    @property
    def xywh(self) -> Array:
        """(N, 4) float32 centre x, centre y, width, height in pixels: Ultralytics' ``xywh``, the centre form
        (:attr:`Results.cxcywh`; COCO's corner form x1, y1, w, h is :attr:`Results.xywh_coco`)."""
        return box_convert(self.xyxy, "xyxy", "cxcywh")

    @property
    def xyxyn(self) -> Array:
        """(N, 4) float32 x1/W, y1/H, x2/W, y2/H with (H, W) = ``orig_shape``. Not clipped: a box reaching past
        the border gives values below 0 or above 1 (Ultralytics' stay in [0, 1], its boxes being clipped)."""
        h, w = self.orig_shape
        return self.xyxy / _scale(self.xyxy, w, h)

    @property
    def xywhn(self) -> Array:
        """(N, 4) float32 cx/W, cy/H, w/W, h/H (YOLO label order), (H, W) = ``orig_shape``; not clipped."""
        h, w = self.orig_shape
        return self.xywh / _scale(self.xyxy, w, h)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, idx: Any) -> "Boxes":
        idx = _detection_index(idx, len(self), self.xyxy)
        return Boxes(self.xyxy[idx], self.conf[idx], self.cls[idx], self.orig_shape,
                     None if self.id is None else self.id[idx])

    def __iter__(self) -> Iterator["Boxes"]:
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"Boxes(n={len(self)}, orig_shape={self.orig_shape}, data={self.data!r})"

    def _map(self, fn: Any) -> "Boxes":
        return Boxes(fn(self.xyxy), fn(self.conf), fn(self.cls), self.orig_shape,
                     None if self.id is None else fn(self.id))

    def cpu(self) -> "Boxes":
        """These boxes with their tensors in CPU memory (numpy boxes: themselves)."""
        return self if isinstance(self.xyxy, np.ndarray) else self._map(lambda t: t.cpu())

    def numpy(self) -> "Boxes":
        """These boxes as numpy arrays (float32, int64 ``cls``), copied to the CPU first if need be."""
        return self if isinstance(self.xyxy, np.ndarray) else self._map(lambda t: t.detach().cpu().numpy())

    def to(self, *args: Any, **kwargs: Any) -> "Boxes":
        """``torch.Tensor.to`` (device and/or dtype) on ``xyxy`` and ``conf``; ``cls`` follows the device
        only and stays int64. Numpy boxes become tensors first."""
        t = self if isinstance(self.xyxy, torch.Tensor) else self._map(torch.as_tensor)
        xyxy = t.xyxy.to(*args, **kwargs)
        return Boxes(xyxy, t.conf.to(*args, **kwargs), t.cls.to(device=xyxy.device), self.orig_shape,
                     None if t.id is None else t.id.to(device=xyxy.device))

    def cuda(self) -> "Boxes":
        """These boxes on the current CUDA device."""
        return self.to("cuda")


def _num(v: float) -> str:
    """A number for a text file: 9 significant digits, which give a float32 back exactly."""
    return f"{v:.9g}"


def _folder_name(name: str, class_id: int) -> str:
    """A class name as a single folder name: separators replaced by ``_``; empty, ``.`` or ``..`` named by id."""
    safe = name.replace("/", "_").replace("\\", "_").replace("\0", "_").strip()
    return safe if safe not in ("", ".", "..") else f"class{class_id}"


@dataclass
class Results:
    """Detections (or class probabilities) for one image.

    Attributes:
        xyxy: (N, 4) float32 boxes x1, y1, x2, y2 in pixels of the original image (not clipped).
        scores: (N,) float32 objectness x P(class) (YOLO9000: objectness of the chosen tree node).
        class_ids: (N,) int64 indices into ``names``.
        names: every class name of the model.
        path: the image file (or a label for in-memory images); ``frame`` the video frame index.
        orig_shape: (height, width) of the original image.
        probs: (C,) class probabilities for a classifier, else None.
        det_index: (N,) darknet prediction index ``a*H*W + row*W + col`` of each box.
        orig_img: the (H, W, 3) uint8 RGB image, kept for drawing (None when streaming without images).
        error: why the input could not be read (``predict(..., skip_bad=True)``); such a result has no
            detections, no image and ``orig_shape`` (0, 0). None for every image that was read.
        fps: frames per second of the video, stream or camera the frame came from, as it reports them
            (None for still images, or when unknown).
        track_ids: (N,) int64 ids of the tracked objects (:meth:`yolo9000.YOLO.track`), None when not tracked.
        speed: milliseconds this image took in each stage, Ultralytics' keys: ``preprocess`` (letterbox),
            ``inference`` (the network), ``postprocess`` (decode and NMS); a batch's time shared equally by
            its images. None where no prediction ran (an unreadable input, a result built by hand).

    Ultralytics' names work too: ``r.boxes`` (a :class:`Boxes`: ``xyxy``, ``xywh``, ``xyxyn``, ``xywhn``,
    ``conf``, ``cls``, ``data``), ``r.plot()``, ``r.save_txt()``, ``r.save_crop()``, ``r.summary()`` and
    ``r.to_json()``.

    Box formats have one name each: ``xyxy`` corners, ``cxcywh`` centre and size (``r.boxes.xywh``, Ultralytics'
    ``xywh``), ``xywh_coco`` COCO's top-left corner and size. ``r.xywh``, which was the COCO form while
    ``r.boxes.xywh`` is the centre form, is deprecated: it still gives the COCO form, with a FutureWarning.

    Like detectron2's ``Instances``, a result indexes as a whole: ``len(r)`` is the number of detections and
    ``r[index]`` (an int, slice, index list or tensor, or boolean mask, e.g. ``r[r.scores > 0.5]`` or
    ``r[r.boxes.cls == 2]``) is a new Results whose per-detection fields (:attr:`PER_DETECTION`) are indexed
    together and whose per-image fields (``names``, ``path``, ``orig_shape``, ``frame``, ``orig_img``,
    ``error``, ``fps``, ``speed``) are kept; an int keeps one detection (``len(r[0]) == 1``), as ``r.boxes[0]``.
    Iterating yields one such single-detection Results per detection. A classifier's result (``probs``) has
    no detections to index: a UsageError.
    """

    #: the fields holding one row per detection, which indexing selects together (None ones stay None)
    PER_DETECTION = ("xyxy", "scores", "class_ids", "det_index", "track_ids")

    xyxy: torch.Tensor
    scores: torch.Tensor
    class_ids: torch.Tensor
    names: tuple[str, ...]
    path: str
    orig_shape: tuple[int, int]
    frame: int | None = None
    probs: torch.Tensor | None = None
    det_index: torch.Tensor | None = None
    orig_img: np.ndarray | None = field(default=None, repr=False)
    error: str | None = None
    fps: float | None = None
    speed: dict[str, float] | None = None
    track_ids: torch.Tensor | None = None

    @classmethod
    def unreadable(cls, path: str, error: str, names: tuple[str, ...]) -> "Results":
        """The result of an input that could not be decoded: no detections, the error kept."""
        return cls(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.int64), names, path, (0, 0),
                   error=error)

    def __len__(self) -> int:
        """The number of detections (0 for a classifier's result)."""
        return int(self.scores.numel())

    def __getitem__(self, idx: Any) -> "Results":
        """The detections ``idx`` selects, as a new Results (see the class docstring); per-image fields kept."""
        self._require_detections("index")
        idx = _detection_index(idx, len(self), self.xyxy)
        picked = {name: None if (v := getattr(self, name)) is None else v[idx] for name in self.PER_DETECTION}
        return replace(self, **picked)

    def __iter__(self) -> Iterator["Results"]:
        """One single-detection Results per detection (a classifier's result: a UsageError)."""
        self._require_detections("iterate over")
        return (self[i] for i in range(len(self)))

    def _require_detections(self, what: str) -> None:
        if self.probs is not None:
            raise UsageError(f"{self.path}: a classifier's result has class probabilities, no detections to "
                             f"{what}; use r.probs or r.top(k)")

    @property
    def boxes(self) -> Boxes | None:
        """The detections as a :class:`Boxes` (Ultralytics' ``r.boxes``), sharing these tensors; None for a
        classifier's result (``probs`` set), as Ultralytics. An unreadable input gives empty Boxes."""
        if self.probs is not None:
            return None
        return Boxes(self.xyxy, self.scores, self.class_ids, self.orig_shape, self.track_ids)

    @property
    def masks(self) -> None:
        """Ultralytics' segmentation masks: None (a YOLOv2 detector gives boxes only); tools that read Ultralytics
        results (supervision's ``Detections.from_ultralytics``) look for it."""
        return None

    @property
    def obb(self) -> None:
        """Ultralytics' oriented boxes: None (YOLOv2's boxes are axis-aligned, :attr:`boxes`)."""
        return None

    @property
    def keypoints(self) -> None:
        """Ultralytics' pose keypoints: None."""
        return None

    @property
    def class_names(self) -> list[str]:
        """Name of each detection's class, (N) strings."""
        return [self.names[i] for i in self.class_ids.tolist()]

    @property
    def xywh_coco(self) -> torch.Tensor:
        """(N, 4) x1, y1, width, height in pixels: COCO's box format (the top-left corner and the size), the
        ``bbox`` of :meth:`to_coco`. Not ``xywh``, which in Ultralytics (``r.boxes.xywh``) is the centre form."""
        return box_convert(self.xyxy, "xyxy", "xywh")

    @property
    def xywh(self) -> torch.Tensor:
        """Deprecated: COCO's x1, y1, width, height, as :attr:`xywh_coco`, with a FutureWarning, since
        ``r.boxes.xywh`` (Ultralytics' name) is the centre form. Use :attr:`xywh_coco` for COCO's form,
        :attr:`cxcywh` or ``r.boxes.xywh`` for the centre form."""
        warnings.warn("Results.xywh is deprecated: it is COCO's corner form (x1, y1, w, h), while r.boxes.xywh is "
                      "the centre form (cx, cy, w, h); use r.xywh_coco for the corner form, r.cxcywh or "
                      "r.boxes.xywh for the centre form", FutureWarning, stacklevel=2)
        return self.xywh_coco

    @property
    def cxcywh(self) -> torch.Tensor:
        """(N, 4) centre x, centre y, width, height in pixels (``r.boxes.xywh``, Ultralytics' ``xywh``)."""
        return box_convert(self.xyxy, "xyxy", "cxcywh")

    @property
    def xyxy_clipped(self) -> torch.Tensor:
        """(N, 4) boxes clipped to the image."""
        h, w = self.orig_shape
        return torchvision.ops.clip_boxes_to_image(self.xyxy, (h, w))

    def top(self, k: int = 5) -> list[tuple[int, str, float]]:
        """Classifier: the ``k`` most probable (class id, name, probability)."""
        if self.probs is None:
            raise UsageError("top() is for classifier results; this image has detections")
        p, i = self.probs.topk(min(k, self.probs.numel()))
        return [(int(c), self.names[int(c)], float(v)) for v, c in zip(p, i)]

    def verbose(self) -> str:
        """What was found, in words (Ultralytics' ``verbose``): the detections counted per class in class
        order, ``"1 dog, 2 cars"`` (``"no detections"`` when none); a classifier's top 5, ``"dog 0.91, cat
        0.05, ..."``."""
        if self.probs is not None:
            return ", ".join(f"{name} {p:.2f}" for _, name, p in self.top(5))
        ids, counts = self.class_ids.unique(return_counts=True) if len(self) else ([], [])
        found = [count(int(n), self.names[int(c)]) for c, n in zip(ids, counts)]
        return ", ".join(found) or "no detections"

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per detection: image, class_id, class_name, score, xyxy (and frame for videos, track_id
        for tracked objects)."""
        out = []
        tracks = [None] * len(self) if self.track_ids is None else self.track_ids.tolist()
        for box, score, cid, tid in zip(self.xyxy.tolist(), self.scores.tolist(), self.class_ids.tolist(), tracks):
            rec: dict[str, Any] = {"image": self.path, "class_id": cid, "class_name": self.names[cid],
                                   "score": score, "xyxy": box}
            if self.frame is not None:
                rec["frame"] = self.frame
            if tid is not None:
                rec["track_id"] = tid
            out.append(rec)
        return out

    def to_coco(self, image_id: int | str, category_ids: list[int] | None = None) -> list[dict[str, Any]]:
        """COCO results records: image_id, category_id (``category_ids[class_id]`` if given), bbox
        [x, y, w, h] in pixels, score."""
        cats = self.class_ids.tolist() if category_ids is None else [category_ids[c] for c in self.class_ids.tolist()]
        return [{"image_id": image_id, "category_id": c, "bbox": b, "score": s}
                for c, b, s in zip(cats, self.xywh_coco.tolist(), self.scores.tolist())]

    def draw(self, image: np.ndarray | None = None, line_width: int | None = None, *, conf: bool = True,
             labels: bool = True) -> Image.Image:
        """The RGB image with boxes and ``name score`` labels drawn (``id:7 name score`` for tracked objects;
        classifier: top-5 as text); ``conf=False`` leaves the scores out of the labels, ``labels=False`` draws
        bare boxes."""
        img = self.orig_img if image is None else image
        if img is None:
            raise UsageError("no image to draw on: pass image= (results were made without keeping images)")
        t = torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1)
        if self.probs is not None:
            pil = Image.fromarray(img)
            draw = ImageDraw.Draw(pil)
            for k, (_, name, p) in enumerate(self.top(5)):
                draw.text((5, 5 + 12 * k), f"{name} {p:.3f}", fill=(255, 255, 0))
            return pil
        if len(self) == 0:
            return Image.fromarray(img)
        texts = None
        if labels:
            texts = [f"{n} {s:.2f}" if conf else n for n, s in zip(self.class_names, self.scores.tolist())]
            if self.track_ids is not None:  # tracked: the id first, as Ultralytics draws it
                texts = [f"id:{i} {t}" for i, t in zip(self.track_ids.tolist(), texts)]
        colors = [class_color(c) for c in self.class_ids.tolist()]
        width = line_width or max(1, round(max(self.orig_shape) / 300))
        drawn = torchvision.utils.draw_bounding_boxes(t, self.xyxy_clipped, labels=texts, colors=colors, width=width,
                                                     **_LABEL_STYLE)
        return Image.fromarray(drawn.permute(1, 2, 0).numpy())

    def save(self, path: str | Path) -> Path:
        """Draw and write the annotated image (format from the extension), atomically."""
        p = Path(path)
        fmt = Image.registered_extensions().get(p.suffix.lower())
        if fmt is None:
            raise UsageError(f"{p}: unknown image extension")
        with atomic_write(p) as f:
            self.draw().save(f, format=fmt)
        return p

    # ---------------------------------------------------------------- Ultralytics' Results calls

    def plot(self, conf: bool = True, line_width: int | None = None, labels: bool = True,
             pil: bool = False) -> np.ndarray | Image.Image:
        """The annotated image as Ultralytics' ``plot`` returns it: an (H, W, 3) uint8 **BGR** numpy array (a
        new, contiguous array; the kept image is not drawn on).

        BGR, although everything else here is RGB, so that code written for Ultralytics keeps working:
        ``cv2.imshow(name, r.plot())``, ``cv2.imwrite(path, r.plot())`` and ``VideoWriter.write`` take BGR.
        ``pil=True`` gives the RGB PIL image instead (:meth:`draw`). ``conf=False`` leaves the scores out of
        the labels; ``labels=False`` draws bare boxes. A classifier's result shows its top-5 as text.
        """
        img = self.draw(line_width=line_width, conf=conf, labels=labels)
        if pil:
            return img
        return np.ascontiguousarray(np.asarray(img)[:, :, ::-1])

    def _txt_lines(self, txt_file: str | Path, save_conf: bool) -> list[str]:
        if self.probs is not None:
            return [f"{_num(p)} {name}" for _, name, p in self.top(5)]
        if len(self) == 0:
            return []
        rows = Boxes(self.xyxy_clipped.double(), self.scores, self.class_ids, self.orig_shape).xywhn.tolist()
        if save_conf:
            rows = [[*row, s] for row, s in zip(rows, self.scores.tolist())]
        if (where := first_non_finite(rows)) is not None:
            k = int(where.split("]")[0].removeprefix("$["))
            raise file_error(txt_file, f"refusing to write a non-finite number (NaN or Infinity): detection {k} "
                                       f"({self.path}) has box {self.xyxy[k].tolist()}, score {float(self.scores[k])}")
        return [" ".join([str(c), *map(_num, row)]) for c, row in zip(self.class_ids.tolist(), rows)]

    def save_txt(self, txt_file: str | Path, save_conf: bool = False) -> Path | None:
        """Append YOLO-format lines to ``txt_file``, as Ultralytics' ``save_txt``; returns the file, or None
        when there was nothing to write (no file is then created, as Ultralytics).

        Detections: one line per box, ``class cx cy w h`` (class id, then centre and size normalised by the
        original width and height) and with ``save_conf`` the score as a sixth column. The boxes are
        **clipped to the image** first (Ultralytics' boxes are clipped at the source), so every value lies in
        [0, 1] and the file is a valid label file for ``yolo9000 train`` / ``check-data``.
        Classifier results: the top-5 as ``probability class_name`` lines (Ultralytics' classify layout).

        Numbers have 9 significant digits (Ultralytics writes ``%g``, 6), so de-normalising gives the
        float32 pixels back. Lines are appended, as Ultralytics does, but atomically: the old contents plus
        the new lines go to a temporary file renamed over ``txt_file``, so a failed write leaves the file as
        it was. A NaN or infinite value is an error and nothing is written.
        """
        lines = self._txt_lines(txt_file, save_conf)
        if not lines:
            return None
        p = Path(txt_file)
        check_output_file(p, "the label file")
        old = p.read_bytes() if p.is_file() else b""
        if old and not old.endswith(b"\n"):
            old += b"\n"
        with atomic_write(p) as f:
            f.write(old + "".join(f"{line}\n" for line in lines).encode("utf-8"))
        return p

    def save_crop(self, save_dir: str | Path, file_name: str | Path = "im.jpg", gain: float = 1.0,
                  pad: float = 0) -> list[Path]:
        """Write each detection's piece of the original image to ``save_dir/<class name>/<file stem>.jpg``, as
        Ultralytics' ``save_crop``; returns the files written, in detection order.

        The crop is the pixels the box covers, clipped to the image: rows ``floor(y1)`` to ``ceil(y2)``,
        columns ``floor(x1)`` to ``ceil(x2)`` (exclusive ends), exactly. Ultralytics grows each box by 2% and
        10 pixels first; pass ``gain=1.02, pad=10`` for that (width and height become ``w * gain + pad``
        about the same centre). A box with no pixels inside the image is skipped.

        Names never collide: a file already there, or written earlier in this call, gets the next free
        ``<stem>_2``, ``<stem>_3``, ... (Ultralytics: ``<stem>2``, ``<stem>3``). ``file_name`` is a bare file
        name; its extension is kept if it is an image format (``.png`` for lossless crops), else ``.jpg`` is
        appended (JPEG quality 95, no chroma subsampling). A class name that cannot be a folder name (has a
        separator, is empty, ``.`` or ``..``) is written with ``_`` for the separators, or as ``class<id>``.
        """
        if self.probs is not None:
            raise UsageError("save_crop() is for detections; this is a classifier's result")
        if self.orig_img is None:
            raise UsageError("no image to crop: the results were made without keeping images (keep_images=False)")
        if not gain > 0 or not pad >= 0:
            raise UsageError(f"gain={gain}, pad={pad}: gain must be above 0 and pad at least 0")
        fn = Path(file_name)
        if not fn.name or fn.name != str(file_name):
            raise UsageError(f"file_name={str(file_name)!r}: must be a bare file name (the folder is save_dir)")
        ext = Image.registered_extensions()
        stem, suffix = (fn.stem, fn.suffix) if fn.suffix.lower() in ext else (fn.name, ".jpg")
        fmt = ext[suffix.lower()]
        img = np.asarray(self.orig_img)
        h, w = img.shape[:2]
        taken: set[Path] = set()
        written: list[Path] = []
        box_cxcywh = box_convert(self.xyxy.double(), "xyxy", "cxcywh")
        grown_xyxy = box_convert(torch.cat([box_cxcywh[:, :2], box_cxcywh[:, 2:] * gain + pad], 1), "cxcywh", "xyxy")
        for box, (x1, y1, x2, y2), cid in zip(self.xyxy.tolist(), grown_xyxy.tolist(), self.class_ids.tolist()):
            if not all(math.isfinite(v) for v in box):
                continue
            c1, r1 = max(0, math.floor(x1)), max(0, math.floor(y1))
            c2, r2 = min(w, math.ceil(x2)), min(h, math.ceil(y2))
            if c2 <= c1 or r2 <= r1:
                continue
            folder = Path(save_dir) / _folder_name(self.names[cid], cid)
            name, k = f"{stem}{suffix}", 2
            while folder / name in taken or (folder / name).exists():
                name, k = f"{stem}_{k}{suffix}", k + 1
            out = folder / name
            taken.add(out)
            crop = Image.fromarray(np.ascontiguousarray(img[r1:r2, c1:c2]))
            with atomic_write(out) as f:
                if fmt == "JPEG":
                    crop.save(f, format=fmt, quality=95, subsampling=0)
                else:
                    crop.save(f, format=fmt)
            written.append(out)
        return written

    def summary(self, normalize: bool = False, decimals: int = 5) -> list[dict[str, Any]]:
        """Ultralytics' ``summary``: one dict per detection, ``{"name", "class", "confidence", "box": {"x1",
        "y1", "x2", "y2"}}`` (pixels, not clipped; ``normalize`` divides by the width and height), values
        rounded to ``decimals``. A classifier's result: one dict, its top class, without ``box``."""
        if self.probs is not None:
            cid, name, p = self.top(1)[0]
            return [{"name": name, "class": cid, "confidence": round(p, decimals)}]
        h, w = self.orig_shape if normalize else (1, 1)
        out = []
        for (x1, y1, x2, y2), s, c in zip(self.xyxy.tolist(), self.scores.tolist(), self.class_ids.tolist()):
            box = {"x1": round(x1 / w, decimals), "y1": round(y1 / h, decimals),
                   "x2": round(x2 / w, decimals), "y2": round(y2 / h, decimals)}
            out.append({"name": self.names[c], "class": c, "confidence": round(s, decimals), "box": box})
        return out

    def to_json(self, normalize: bool = False, decimals: int = 5) -> str:
        """:meth:`summary` as a strict JSON string (Ultralytics' ``to_json``); a NaN or infinite value is a
        one-line error naming the image, never bare ``NaN`` in the text."""
        rows = self.summary(normalize=normalize, decimals=decimals)
        if (where := first_non_finite(rows)) is not None:
            raise file_error(self.path, f"a non-finite number (NaN or Infinity) at {where} cannot be JSON")
        return json.dumps(rows, indent=2, allow_nan=False)
