"""Box geometry shared by the data, the region loss, the decode, the export and the evaluation: the one
conversion between box formats (:func:`box_convert`), darknet's IoUs, and YOLOv2's box code
(:class:`RegionBoxCoder`, encode and decode side by side).

Formats (:data:`BOX_FORMATS`, in names too): ``xyxy`` is (x1, y1, x2, y2), the corners; ``xywh`` is (x1, y1,
width, height), COCO's; ``cxcywh`` is (centre x, centre y, width, height), YOLO's. Units: ``_px`` in pixels,
``_grid`` in grid cells, ``_norm`` in fractions of the network input. Every other module converts formats
through :func:`box_convert` (``tests/test_layout.py`` checks it).

The evaluation metrics keep their own IoUs on purpose: VOC's adds one pixel to widths (``voc_eval``) and
COCO's handles crowds (``pycocotools``), and each must match its reference code to the last bit.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch

from yolo9000.errors import Yolo9000Error

#: how the head's tx, ty place a box centre: ``direct`` is YOLOv2's sigmoid-bounded offset within the cell
#: (darknet's only form); ``offset`` is the RPN / Faster R-CNN form ``x = x_a + t_x * w_a`` about the
#: anchor centred in the cell, unbounded (the paper's Table 2 baseline; darknet cannot run it)
LOCATIONS = ("direct", "offset")

#: the box formats :func:`box_convert` knows (see the module's docstring)
BOX_FORMATS = ("xyxy", "xywh", "cxcywh")

#: boxes of either kind; :func:`box_convert` returns the kind it was given
Boxes = TypeVar("Boxes", torch.Tensor, np.ndarray)


# One helper per pair of formats, each one formula for tensors and arrays alike: only taking the columns
# apart and stacking them differ. Halving is ``/ 2`` (bit-equal to ``0.5 *``); a centre from corners is
# ``(x1 + x2) / 2``, not ``x1 + (x2 - x1) / 2``, which rounds differently (darknet's and torchvision's form).
def _columns(b: Boxes) -> tuple:
    """(..., 4) -> its four (...) columns (tensors: ``unbind``, which traces to one ONNX ``Split``)."""
    return b.unbind(-1) if isinstance(b, torch.Tensor) else tuple(np.moveaxis(b, -1, 0))


def _stack_last(cols: tuple, like: Boxes) -> Boxes:
    """Four (...) columns -> (..., 4) of ``like``'s kind."""
    return torch.stack(cols, dim=-1) if isinstance(like, torch.Tensor) else np.stack(cols, axis=-1)


def _xyxy_to_xywh(b: Boxes) -> Boxes:
    """(..., 4) x1, y1, x2, y2 -> (..., 4) x1, y1, w, h."""
    x1, y1, x2, y2 = _columns(b)
    return _stack_last((x1, y1, x2 - x1, y2 - y1), b)


def _xywh_to_xyxy(b: Boxes) -> Boxes:
    """(..., 4) x1, y1, w, h -> (..., 4) x1, y1, x2, y2."""
    x1, y1, w, h = _columns(b)
    return _stack_last((x1, y1, x1 + w, y1 + h), b)


def _xyxy_to_cxcywh(b: Boxes) -> Boxes:
    """(..., 4) x1, y1, x2, y2 -> (..., 4) cx, cy, w, h."""
    x1, y1, x2, y2 = _columns(b)
    return _stack_last(((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), b)


def _cxcywh_to_xyxy(b: Boxes) -> Boxes:
    """(..., 4) cx, cy, w, h -> (..., 4) x1, y1, x2, y2."""
    cx, cy, w, h = _columns(b)
    half_w, half_h = w / 2, h / 2
    return _stack_last((cx - half_w, cy - half_h, cx + half_w, cy + half_h), b)


def _xywh_to_cxcywh(b: Boxes) -> Boxes:
    """(..., 4) x1, y1, w, h -> (..., 4) cx, cy, w, h (directly: one rounding, not two through xyxy)."""
    x1, y1, w, h = _columns(b)
    return _stack_last((x1 + w / 2, y1 + h / 2, w, h), b)


def _cxcywh_to_xywh(b: Boxes) -> Boxes:
    """(..., 4) cx, cy, w, h -> (..., 4) x1, y1, w, h (directly: one rounding, not two through xyxy)."""
    cx, cy, w, h = _columns(b)
    return _stack_last((cx - w / 2, cy - h / 2, w, h), b)


_CONVERTERS: dict[tuple[str, str], Callable[[Boxes], Boxes]] = {
    ("xyxy", "xywh"): _xyxy_to_xywh, ("xywh", "xyxy"): _xywh_to_xyxy,
    ("xyxy", "cxcywh"): _xyxy_to_cxcywh, ("cxcywh", "xyxy"): _cxcywh_to_xyxy,
    ("xywh", "cxcywh"): _xywh_to_cxcywh, ("cxcywh", "xywh"): _cxcywh_to_xywh,
}


def box_convert(boxes: Boxes, in_fmt: str, out_fmt: str) -> Boxes:
    """Convert boxes between :data:`BOX_FORMATS` -- the package's one way to do it.

    Args:
        boxes: (..., 4) torch tensor or NumPy array in ``in_fmt``, any unit, any leading batch shape.
        in_fmt, out_fmt: ``"xyxy"`` (x1, y1, x2, y2), ``"xywh"`` (x1, y1, w, h) or ``"cxcywh"`` (cx, cy, w, h).
    Returns:
        (..., 4) in ``out_fmt``, a new tensor or array of the input's kind, device and floating dtype (a copy
        when the formats are equal). Integer boxes stay integer between ``xyxy`` and ``xywh``; halving a
        size makes them floating (tensors: torch's default float; arrays: float64).
    Raises:
        ValueError: an unknown format, or a last dimension other than 4.
    """
    # our own helpers, not torchvision's box_convert: that takes tensors only, and one formula must serve both
    for fmt in (in_fmt, out_fmt):
        if fmt not in BOX_FORMATS:
            raise ValueError(f"box format {fmt!r}: choose one of {', '.join(BOX_FORMATS)}")
    if not isinstance(boxes, (torch.Tensor, np.ndarray)):
        raise TypeError(f"boxes must be a torch tensor or a NumPy array, not {type(boxes).__name__}")
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must have shape (..., 4), got {tuple(boxes.shape)}")
    if in_fmt == out_fmt:
        return boxes.clone() if isinstance(boxes, torch.Tensor) else boxes.copy()
    return _CONVERTERS[(in_fmt, out_fmt)](boxes)


def box_iou_cxcywh(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Darknet's ``box_iou`` of broadcastable (..., 4) cxcywh boxes (any one unit) -> (...)."""
    iw = (torch.minimum(a[..., 0] + a[..., 2] / 2, b[..., 0] + b[..., 2] / 2)
          - torch.maximum(a[..., 0] - a[..., 2] / 2, b[..., 0] - b[..., 2] / 2)).clamp(min=0)
    ih = (torch.minimum(a[..., 1] + a[..., 3] / 2, b[..., 1] + b[..., 3] / 2)
          - torch.maximum(a[..., 1] - a[..., 3] / 2, b[..., 1] - b[..., 3] / 2)).clamp(min=0)
    inter = iw * ih
    return inter / (a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter)


def shape_iou_wh(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of broadcastable (..., 2) (w, h) boxes centred at the same point -> (...) (anchor matching)."""
    inter = torch.minimum(a[..., 0], b[..., 0]) * torch.minimum(a[..., 1], b[..., 1])
    return inter / (a[..., 0] * a[..., 1] + b[..., 0] * b[..., 1] - inter)


@dataclass(frozen=True)
class RegionBoxCoder:
    """YOLOv2's box code, in grid cells, for one of the :data:`LOCATIONS`.

    The code of a box is ``(tx, ty, tw, th)``: ``tx, ty`` are *location codes* -- ``sigmoid(t)`` of the raw
    head for ``direct``, the raw ``t`` itself for ``offset`` (:meth:`activate_xy`) -- and ``tw, th`` the raw
    log-scales. With the cell ``(col, row)`` and the anchor ``(aw, ah)`` of the prediction::

        direct:  cx = col + tx              offset:  cx = col + 0.5 + tx * aw
                 cy = row + ty                       cy = row + 0.5 + ty * ah
        both:    w = aw * exp(tw),  h = ah * exp(th)

    :meth:`decode` and :meth:`encode` are inverse; every tensor argument broadcasts. The arithmetic of
    ``direct`` is darknet's own (``get_region_box`` / ``delta_region_box``), operation for operation.
    """

    location: str = "direct"

    def __post_init__(self) -> None:
        if self.location not in LOCATIONS:
            raise Yolo9000Error(f"location {self.location!r}: choose {' or '.join(LOCATIONS)}")

    def activate_xy(self, txy_raw: torch.Tensor) -> torch.Tensor:
        """Raw tx, ty (any shape) -> their location codes."""
        return torch.sigmoid(txy_raw) if self.location == "direct" else txy_raw

    @property
    def cell_centre_code(self) -> float:
        """The location code of a box centred in its cell (darknet's early prior pulls free boxes there)."""
        return 0.5 if self.location == "direct" else 0.0

    def decode(self, tx: torch.Tensor, ty: torch.Tensor, tw: torch.Tensor, th: torch.Tensor, col: torch.Tensor,
               row: torch.Tensor, aw: torch.Tensor, ah: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Codes -> the box ``(cx, cy, w, h)`` in grid cells."""
        if self.location == "direct":
            cx, cy = col + tx, row + ty
        else:
            cx, cy = col + 0.5 + tx * aw, row + 0.5 + ty * ah
        return cx, cy, torch.exp(tw) * aw, torch.exp(th) * ah

    def encode(self, cx: torch.Tensor, cy: torch.Tensor, w: torch.Tensor, h: torch.Tensor, col: torch.Tensor,
               row: torch.Tensor, aw: torch.Tensor, ah: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """A box ``(cx, cy, w, h)`` in grid cells -> the codes ``(tx, ty, tw, th)`` that decode to it."""
        if self.location == "direct":
            tx, ty = cx - col, cy - row
        else:
            tx, ty = (cx - col - 0.5) / aw, (cy - row - 0.5) / ah
        return tx, ty, torch.log(w / aw), torch.log(h / ah)
