"""Darknet's letterbox: aspect-preserving resize onto a 0.5-grey canvas, and its inverse for boxes."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def letterbox_size(image_w: int, image_h: int, net_w: int, net_h: int) -> tuple[int, int]:
    """(new_w, new_h) of the resized image inside the net input, with darknet's integer division."""
    if net_w / image_w < net_h / image_h:
        return net_w, (image_h * net_w) // image_w
    return (image_w * net_h) // image_h, net_h


def letterbox(image: np.ndarray | torch.Tensor, net_w: int, net_h: int | None = None) -> torch.Tensor:
    """Letterbox one RGB image as darknet does.

    Args:
        image: (H, W, 3) uint8 RGB array or tensor.
        net_w, net_h: network input size in pixels (``net_h`` defaults to ``net_w``).
    Returns:
        (3, net_h, net_w) float32 in [0, 1]: u8/255, resized with align-corners bilinear (no antialias)
        to :func:`letterbox_size`, pasted at ((net_w - new_w)//2, (net_h - new_h)//2) on 0.5.
    """
    net_h = net_w if net_h is None else net_h
    t = torch.as_tensor(image)
    if t.ndim != 3 or t.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {tuple(t.shape)}")
    h, w = t.shape[:2]
    new_w, new_h = letterbox_size(w, h, net_w, net_h)
    x = t.permute(2, 0, 1).unsqueeze(0).to(torch.float32) / 255.0
    if (new_w, new_h) != (w, h):
        x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=True)
    canvas = torch.full((3, net_h, net_w), 0.5, dtype=torch.float32)
    dx, dy = (net_w - new_w) // 2, (net_h - new_h) // 2
    canvas[:, dy:dy + new_h, dx:dx + new_w] = x[0]
    return canvas


def unletterbox_cxcywh(boxes_cxcywh_norm: torch.Tensor, image_w: int, image_h: int,
                       net_w: int, net_h: int) -> torch.Tensor:
    """Map boxes from the letterboxed net input back to the original image (darknet's
    ``correct_region_boxes``).

    Args:
        boxes_cxcywh_norm: (N, 4) cx, cy, w, h as fractions of the network input.
    Returns:
        (N, 4) cx, cy, w, h in pixels of the original image (not clipped).
    """
    new_w, new_h = letterbox_size(image_w, image_h, net_w, net_h)
    b = boxes_cxcywh_norm.to(torch.float64)
    sx, sy = new_w / net_w, new_h / net_h
    ox, oy = (net_w - new_w) / 2.0 / net_w, (net_h - new_h) / 2.0 / net_h
    cx = (b[:, 0] - ox) / sx * image_w
    cy = (b[:, 1] - oy) / sy * image_h
    bw = b[:, 2] / sx * image_w
    bh = b[:, 3] / sy * image_h
    return torch.stack([cx, cy, bw, bh], dim=1).to(boxes_cxcywh_norm.dtype)
