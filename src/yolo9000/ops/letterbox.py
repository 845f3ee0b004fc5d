"""Darknet's letterbox: aspect-preserving resize onto a 0.5-grey canvas, and its box mappings both ways
(:func:`letterbox_xyxy` forward, :func:`unletterbox_cxcywh` back)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from yolo9000.ops.boxes import Boxes


def letterbox_size(image_w: int, image_h: int, net_w: int, net_h: int) -> tuple[int, int]:
    """(new_w, new_h) of the resized image inside the net input, as darknet's ``letterbox_image``: the
    ratios compared in float32, the other side by integer division.

    One deliberate deviation: a side darknet's integer division rounds to 0 px (an image more than ``net_w``
    times wider than high, e.g. 3000x1 or 2x3000 into 64) is kept at 1 px. Darknet would embed nothing and
    then divide by that 0 when mapping boxes back (``correct_region_boxes``: infinite boxes); with 1 px the
    thin image is drawn as one line of the canvas, and :func:`letterbox` and :func:`unletterbox_cxcywh`,
    which both take their size from here, stay finite and agree.
    """
    if np.float32(net_w) / np.float32(image_w) < np.float32(net_h) / np.float32(image_h):
        return net_w, max(1, (image_h * net_w) // image_w)
    return max(1, (image_w * net_h) // image_h), net_h


def darknet_samples(n_in: int, n_out: int, last_exact: bool
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where darknet's ``resize_image`` samples one axis of ``n_in`` pixels for ``n_out`` outputs.

    Output ``i`` is ``w0[i] * src[i0[i]] + w1[i] * src[i1[i]]`` (float32, in that order), with darknet's
    float32 arithmetic: ``scale = (float)(n_in - 1) / (n_out - 1)``, ``s = i * scale``, ``i0 = (int)s``,
    ``w1 = s - i0``, ``w0 = 1 - w1``, ``i1 = i0 + 1``. The two axes end differently in darknet:

    * columns (``last_exact=True``): the last output column (and every column of a 1-pixel-wide image)
      is the last input column itself (``w0 = 1``, ``w1 = 0``);
    * rows (``last_exact=False``): the last output row (and every row of a 1-pixel-high image) keeps
      ``w0 = 1 - (s - i0)`` and drops the second term (``w1 = 0``). When ``(n_out - 1) * scale`` rounds
      just below ``n_in - 1``, ``i0 = n_in - 2`` and ``w0`` is close to 0: darknet's last row is then
      dark, and this reproduces it.

    ``n_out == 1`` divides by zero in darknet (a NaN position, undefined behaviour in C); here it
    samples input pixel 0 for rows and the last input pixel for columns (its ``c == w - 1`` branch).

    Returns:
        i0, i1: (n_out,) int64 NumPy input indices (``i1`` clamped to ``n_in - 1`` where its weight is 0);
        w0, w1: (n_out,) float32 NumPy weights.
    """
    out = np.arange(n_out, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.float32(n_in - 1) / np.float32(n_out - 1)
    pos = out * scale if n_out > 1 else np.zeros(1, np.float32)
    i0 = pos.astype(np.int64)  # (int) truncates; positions are >= 0
    w1 = (pos - i0.astype(np.float32)).astype(np.float32)
    w0 = (np.float32(1) - w1).astype(np.float32)
    if last_exact:
        last = slice(None) if n_in == 1 else slice(n_out - 1, n_out)
        i0[last], w0[last], w1[last] = n_in - 1, 1.0, 0.0
    else:
        w1[slice(None) if n_in == 1 else slice(n_out - 1, n_out)] = 0.0
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, w0, w1


def resize_darknet(image: torch.Tensor, new_w: int, new_h: int) -> torch.Tensor:
    """Darknet's ``resize_image`` of an (H, W, 3) uint8 image (other dtypes: values / 255) -> (3, new_h, new_w)
    float32.

    ``F.interpolate(align_corners=True)`` samples darknet's positions with darknet's float32 arithmetic
    (``scale = (float)(n_in - 1) / (n_out - 1)``, ``s = i * scale``, weights ``s - (int)s``), so it gives
    darknet's values inside the image to a float32 rounding (<= 2e-7). The two axes' ends it does not: darknet
    copies the last input column into the last output column, and drops the second term of the last row
    (see :func:`darknet_samples`), so where the last row's position rounds down darknet's last row is
    darker by up to the full pixel range. Those two lines are recomputed here with darknet's rules, at a
    cost of O(new_w + new_h) on top of the interpolation.
    """
    h, w = image.shape[:2]
    # float32 b / 255 equals darknet's (float)b / 255. (a double division, then rounded) for every byte
    x = image.permute(2, 0, 1).unsqueeze(0).to(torch.float32) / 255.0  # (1, 3, H, W)
    if (new_w, new_h) == (w, h):  # darknet's scales are then exactly 1: an identity
        return x[0]
    out = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=True)[0]
    # the two lines, in NumPy float32 from the image's bytes (a few hundred values: torch's per-op overhead
    # would cost more than the arithmetic)
    src = image.cpu().numpy()
    r0, r1, wr0, wr1 = darknet_samples(h, new_h, last_exact=False)
    c0, c1, wc0, wc1 = darknet_samples(w, new_w, last_exact=True)

    def load(v: np.ndarray) -> np.ndarray:  # bytes -> darknet's floats
        return v.astype(np.float32) / np.float32(255.0)

    # last column: darknet's part[:, :, new_w - 1] is the image's last column itself
    last_col = wr0[:, None] * load(src[r0, w - 1]) + wr1[:, None] * load(src[r1, w - 1])  # (new_h, 3)
    row = load(src[r0[-1]])  # (W, 3): the input row darknet's last output row reads
    part = wc0[:, None] * row[c0] + wc1[:, None] * row[c1]  # its horizontal pass, (new_w, 3)
    out[:, :, new_w - 1] = torch.from_numpy(np.ascontiguousarray(last_col.T))
    out[:, new_h - 1] = torch.from_numpy(np.ascontiguousarray((wr0[-1] * part).T))  # 2nd term dropped
    return out


def letterbox(image: np.ndarray | torch.Tensor, net_w: int, net_h: int | None = None) -> torch.Tensor:
    """Letterbox one RGB image exactly as darknet's ``letterbox_image``.

    Args:
        image: (H, W, 3) uint8 RGB array or tensor.
        net_w, net_h: network input size in pixels (``net_h`` defaults to ``net_w``).
    Returns:
        (3, net_h, net_w) float32 in [0, 1]: u8/255 resized by :func:`resize_darknet` to
        :func:`letterbox_size`, pasted at ((net_w - new_w)//2, (net_h - new_h)//2) on 0.5.
    """
    net_h = net_w if net_h is None else net_h
    t = torch.as_tensor(image)
    if t.ndim != 3 or t.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {tuple(t.shape)}")
    h, w = t.shape[:2]
    new_w, new_h = letterbox_size(w, h, net_w, net_h)
    canvas = torch.full((3, net_h, net_w), 0.5, dtype=torch.float32)
    dx, dy = (net_w - new_w) // 2, (net_h - new_h) // 2
    canvas[:, dy:dy + new_h, dx:dx + new_w] = resize_darknet(t, new_w, new_h)
    return canvas


# The two box mappings of the letterbox, forward and inverse side by side. Each keeps darknet's own form:
# the forward moves corners as the pixels are pasted (darknet's training truth clips corners), the inverse
# moves centres and sizes as ``correct_region_boxes`` does; :func:`~yolo9000.ops.boxes.box_convert` links them.
def letterbox_xyxy(boxes_xyxy_px: Boxes, image_w: int, image_h: int, net_w: int, net_h: int) -> Boxes:
    """Map boxes from the original image onto the letterboxed net input, as :func:`letterbox` moves the
    pixels: scaled by ``new / image`` (:func:`letterbox_size`), shifted by the integer paste offset
    ``(net - new) // 2``, divided by the net size; in the boxes' own dtype (float64 for the training truth).

    The inverse is :func:`unletterbox_cxcywh`, up to darknet's half pixel: that takes the offset unrounded,
    ``(net - new) / 2``, so where ``net - new`` is odd a box comes back shifted by half a net-input pixel.

    Args:
        boxes_xyxy_px: (..., 4) x1, y1, x2, y2 in pixels of the original image, tensor or array.
    Returns:
        (..., 4) x1, y1, x2, y2 as fractions of the network input, of the input's kind (not clipped).
    """
    new_w, new_h = letterbox_size(image_w, image_h, net_w, net_h)
    sx, sy = new_w / image_w, new_h / image_h
    ox, oy = (net_w - new_w) // 2, (net_h - new_h) // 2
    b = boxes_xyxy_px
    cols = [(b[..., 0] * sx + ox) / net_w, (b[..., 1] * sy + oy) / net_h,
            (b[..., 2] * sx + ox) / net_w, (b[..., 3] * sy + oy) / net_h]
    return torch.stack(cols, dim=-1) if isinstance(b, torch.Tensor) else np.stack(cols, axis=-1)


def unletterbox_cxcywh(boxes_cxcywh_norm: torch.Tensor, image_w: int, image_h: int,
                       net_w: int, net_h: int) -> torch.Tensor:
    """Map boxes from the letterboxed net input back to the original image, with darknet's
    ``correct_region_boxes`` arithmetic (``relative=0``): the centre shift in double precision then stored
    in float32, the sizes and the scaling to pixels in float32.

    The forward is :func:`letterbox_xyxy` (corners, the integer paste offset; see there for the half pixel).

    Args:
        boxes_cxcywh_norm: (N, 4) cx, cy, w, h as fractions of the network input.
    Returns:
        (N, 4) float32 cx, cy, w, h in pixels of the original image (not clipped).
    """
    new_w, new_h = letterbox_size(image_w, image_h, net_w, net_h)
    b = boxes_cxcywh_norm.to(torch.float32)
    # b.x = (b.x - (netw - new_w)/2./netw) / ((float)new_w/netw): double, with a float32 divisor
    off_x, off_y = (net_w - new_w) / 2.0 / net_w, (net_h - new_h) / 2.0 / net_h
    div_x, div_y = float(np.float32(new_w) / np.float32(net_w)), float(np.float32(new_h) / np.float32(net_h))
    cx = ((b[:, 0].double() - off_x) / div_x).float()
    cy = ((b[:, 1].double() - off_y) / div_y).float()
    # b.w *= (float)netw/new_w, all float32
    bw = b[:, 2] * float(np.float32(net_w) / np.float32(new_w))
    bh = b[:, 3] * float(np.float32(net_h) / np.float32(new_h))
    out = torch.stack([cx * float(image_w), cy * float(image_h), bw * float(image_w), bh * float(image_h)], dim=1)
    return out.to(boxes_cxcywh_norm.dtype) if boxes_cxcywh_norm.is_floating_point() else out
