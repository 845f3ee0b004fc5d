"""Box geometry shared by the region loss, the decode and the ONNX export: darknet's IoUs, and YOLOv2's
box code (:class:`RegionBoxCoder`, encode and decode side by side).

Formats in names: ``cxcywh`` is (centre x, centre y, width, height); units: ``_grid`` in grid cells,
``_norm`` in fractions of the network input. The evaluation metrics keep their own IoUs on purpose: VOC's
adds one pixel to widths (``voc_eval``) and COCO's handles crowds (``pycocotools``), and each must match
its reference code to the last bit.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from yolo9000.errors import Yolo9000Error

#: how the head's tx, ty place a box centre: ``direct`` is YOLOv2's sigmoid-bounded offset within the cell
#: (darknet's only form); ``offset`` is the RPN / Faster R-CNN form ``x = x_a + t_x * w_a`` about the
#: anchor centred in the cell, unbounded (the paper's Table 2 baseline; darknet cannot run it)
LOCATIONS = ("direct", "offset")


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
