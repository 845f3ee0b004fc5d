"""Darknet's training augmentation, as pure functions: jitter/scale/place/flip, and HSV distortion.

What darknet does per training image (``load_data_detection`` in ``src/data.c``; the ``place_image``
version, introduced in commit 60e952ba, 2017-03-26):

1. ``new_ar = (w + U(-jitter*w, jitter*w)) / (h + U(-jitter*h, jitter*h))`` (``U`` = ``rand_uniform``,
   which swaps its bounds when ``max < min``, ``src/utils.c``);
2. ``scale = U(.25, 2)``; the longer side of the new shape is ``scale * net side``:
   ``new_ar < 1``: ``nh = scale*h_net, nw = nh*new_ar``; else ``nw = scale*w_net, nh = nw/new_ar``;
3. ``dx = U(0, w_net - nw)``, ``dy = U(0, h_net - nh)`` (negative when the image is larger than the net
   input: the image is then partly off the canvas);
4. ``place_image`` (``src/image.c``) draws the image, resampled bilinearly to ``nw x nh``, at (dx, dy) on a
   canvas filled with 0.5;
5. ``random_distort_image`` (``src/image.c``) shifts hue and scales saturation and value in HSV;
6. ``flip_image`` mirrors the canvas left-right with probability 1/2;
7. ``fill_truth_detection`` / ``correct_boxes`` (``src/data.c``) move the boxes: scale, offset, mirror,
   clip to [0, 1], and drop a box whose clipped width or height is below 0.001 of the net input.

Darknet HEAD (f86901f6, 2018-08-15) comments step 2 out (``//float scale = rand_uniform(.25, 2);
float scale = 1;``); the YOLOv2 / YOLO9000 era code (2017-03 to 2018-08) draws it. ``scale_range``
chooses: (0.25, 2.0), the default, is the drawn scale; (1.0, 1.0) is HEAD.

Deviations, all deliberate:

* ``place_image`` takes ``int`` sizes and offsets, so darknet truncates ``nw, nh, dx, dy`` toward zero for
  the pixels but moves the boxes with the untruncated floats (labels off the pixels by up to a pixel).
  Here both use the truncated integers, so the boxes follow the pixels exactly.
* The random numbers come from a numpy ``Generator``, not C ``rand()``: distributions match, streams do not.
* ``correct_boxes`` turns a box centred exactly at (0, 0) into a 999999-sized box (a sentinel for
  empty label rows); here such a box is an ordinary box.
"""
from __future__ import annotations

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as TF

from yolo9000.ops.boxes import box_convert

#: darknet's ``fill_truth_detection``: a box narrower or lower than this (fraction of the net input) is dropped
MIN_BOX_SIDE = 0.001

__all__ = ["MIN_BOX_SIDE", "darknet_distort", "darknet_hsv", "darknet_jitter_place", "hsv_to_rgb",
           "jitter_params", "place_image", "rand_scale", "rand_uniform", "rgb_to_hsv", "transform_boxes"]


def rand_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Darknet's ``rand_uniform(min, max)`` (``src/utils.c``): uniform in [lo, hi], bounds swapped if hi < lo."""
    if hi < lo:
        lo, hi = hi, lo
    return float(lo + (hi - lo) * rng.random())


def rand_scale(rng: np.random.Generator, s: float) -> float:
    """Darknet's ``rand_scale(s)`` (``src/utils.c``): ``u = rand_uniform(1, s)``, then ``u`` or ``1/u``
    with probability 1/2 each."""
    u = rand_uniform(rng, 1.0, s)
    return u if rng.random() < 0.5 else 1.0 / u


def jitter_params(image_w: int, image_h: int, size_w: int, size_h: int, jitter: float,
                  rng: np.random.Generator, scale_range: tuple[float, float] = (0.25, 2.0)
                  ) -> tuple[int, int, int, int]:
    """Draw darknet's placement of an ``image_w x image_h`` image on a ``size_w x size_h`` canvas.

    Returns:
        (nw, nh, dx, dy) in canvas pixels: the resampled image's size (at least 1) and its top-left corner
        (may be negative or beyond the canvas), truncated toward zero as darknet's ``place_image(..., int w,
        int h, int dx, int dy, ...)`` call does. Consumes 5 draws of ``rng``.
    """
    if not 0.0 <= jitter < 1.0:
        raise ValueError(f"jitter must be in [0, 1), got {jitter}")
    dw, dh = jitter * image_w, jitter * image_h
    new_ar = (image_w + rand_uniform(rng, -dw, dw)) / (image_h + rand_uniform(rng, -dh, dh))
    scale = rand_uniform(rng, *scale_range)
    if new_ar < 1:
        nh = scale * size_h
        nw = nh * new_ar
    else:
        nw = scale * size_w
        nh = nw / new_ar
    dx = rand_uniform(rng, 0.0, size_w - nw)
    dy = rand_uniform(rng, 0.0, size_h - nh)
    return max(1, int(nw)), max(1, int(nh)), int(dx), int(dy)  # int(): C's truncation toward zero


def place_image(image: torch.Tensor, nw: int, nh: int, dx: int, dy: int, size_w: int, size_h: int,
                fill: float = 0.5) -> torch.Tensor:
    """Darknet's ``place_image`` (``src/image.c``) onto a fresh canvas filled with ``fill``.

    Canvas pixel (dx + x, dy + y), for 0 <= x < nw, 0 <= y < nh, takes ``bilinear_interpolate(image,
    x/nw*W, y/nh*H)``, whose neighbours outside the image count as 0 (``get_pixel_extend``): the last
    row / column blends with black when upsampling, as in darknet. Canvas pixels outside the image keep
    ``fill``; image pixels outside the canvas are not drawn.

    Why not ``F.interpolate`` / ``grid_sample``: darknet samples at ``x * W / nw`` (the pixel index, not
    its centre), which neither ``align_corners`` mode of ``F.interpolate`` expresses, and ``grid_sample``
    would round-trip the coordinates through [-1, 1] (not bit-exact). The four-neighbour gather below is
    darknet's arithmetic in float32, vectorised, and only computes the visible part.

    Args:
        image: (3, H, W) float32.
    Returns:
        (3, size_h, size_w) float32.
    """
    c, h, w = image.shape
    canvas = torch.full((c, size_h, size_w), fill, dtype=torch.float32)
    x0, x1 = max(0, dx), min(size_w, dx + nw)
    y0, y1 = max(0, dy), min(size_h, dy + nh)
    if x0 >= x1 or y0 >= y1:
        return canvas
    src = torch.nn.functional.pad(image.to(torch.float32), (0, 1, 0, 1))  # the zero neighbours past the edge
    xs = torch.arange(x0 - dx, x1 - dx, dtype=torch.float32)
    ys = torch.arange(y0 - dy, y1 - dy, dtype=torch.float32)
    rx = xs / nw * w  # float32 as darknet: ((float)x / w) * im.w
    ry = ys / nh * h
    ix = torch.floor(rx)
    iy = torch.floor(ry)
    fx = (rx - ix)[None, None, :]
    fy = (ry - iy)[None, :, None]
    ix = ix.long()
    iy = iy.long()
    r0, r1 = src[:, iy], src[:, iy + 1]  # (3, ny, W + 1)
    val = ((1 - fy) * (1 - fx) * r0[:, :, ix] + fy * (1 - fx) * r1[:, :, ix]
           + (1 - fy) * fx * r0[:, :, ix + 1] + fy * fx * r1[:, :, ix + 1])
    canvas[:, y0:y1, x0:x1] = val
    return canvas


def transform_boxes(boxes_xyxy: np.ndarray | torch.Tensor, image_w: int, image_h: int, nw: int, nh: int,
                    dx: int, dy: int, size_w: int, size_h: int, flip: bool
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Darknet's ``correct_boxes`` + the drop in ``fill_truth_detection`` (``src/data.c``), in canvas pixels.

    A corner x moves to ``x * nw / image_w + dx`` (y likewise), is clipped to the canvas
    (``clamp_bounding_boxes``) and mirrored (``horizontal_flip``: x -> size_w - x; torchvision's tv_tensors ops,
    which are exactly darknet's ``constrain(0, 1, .)`` and ``1 - right`` / ``1 - left``; clip and mirror
    commute). A box is dropped when its clipped width / size_w or height / size_h is below
    :data:`MIN_BOX_SIDE`.

    Args:
        boxes_xyxy: (N, 4) x1, y1, x2, y2 in pixels of the original image.
    Returns:
        (boxes (M, 4) float32 cx, cy, w, h as fractions of the canvas, keep (M,) int64 indices into the input).
    """
    b = torch.tensor(np.asarray(boxes_xyxy, dtype=np.float64)).reshape(-1, 4)  # a copy: records are read-only
    b = b * torch.tensor([nw / image_w, nh / image_h, nw / image_w, nh / image_h], dtype=torch.float64)
    b = b + torch.tensor([dx, dy, dx, dy], dtype=torch.float64)
    bb = tv_tensors.BoundingBoxes(b, format=tv_tensors.BoundingBoxFormat.XYXY, canvas_size=(size_h, size_w))
    bb = TF.clamp_bounding_boxes(bb)
    if flip:
        bb = TF.horizontal_flip(bb)
    b = bb.as_subclass(torch.Tensor)
    norm = torch.tensor([size_w, size_h, size_w, size_h], dtype=torch.float64)
    b_cxcywh_norm = box_convert(b / norm, "xyxy", "cxcywh")
    keep = torch.nonzero((b_cxcywh_norm[:, 2] >= MIN_BOX_SIDE) & (b_cxcywh_norm[:, 3] >= MIN_BOX_SIDE)).flatten()
    return b_cxcywh_norm[keep].to(torch.float32), keep


def darknet_jitter_place(image_u8: np.ndarray | torch.Tensor, boxes_xyxy: np.ndarray | torch.Tensor,
                         size_w: int, size_h: int, jitter: float, rng: np.random.Generator, flip: bool,
                         scale_range: tuple[float, float] = (0.25, 2.0)
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Darknet's jitter / scale / place / flip of one training image and its boxes.

    Draws (:func:`jitter_params`) the new aspect ratio ``(w + U(-jw, jw)) / (h + U(-jh, jh))``, the scale
    ``U(*scale_range)`` and the offset, resamples the image onto a 0.5 canvas (:func:`place_image`), mirrors
    it when ``flip`` (``torchvision.transforms.v2.functional.horizontal_flip``, darknet's ``flip_image``),
    and moves the boxes with it (:func:`transform_boxes`). ``flip`` is the decision itself (darknet draws it
    with probability 1/2; the caller does); ``rng`` is drawn from 5 times whatever ``flip`` is.

    Args:
        image_u8: (H, W, 3) uint8 RGB.
        boxes_xyxy: (N, 4) x1, y1, x2, y2 in pixels of ``image_u8``.
        size_w, size_h: the network input (canvas) size in pixels.
        jitter: darknet's region-layer ``jitter`` in [0, 1).
        rng: a numpy ``Generator``.
        flip: mirror left-right.
        scale_range: bounds of the scale draw; (0.25, 2.0) as darknet 2017-03..2018-08, (1, 1) as HEAD.
    Returns:
        image: (3, size_h, size_w) float32 in [0, 1].
        boxes: (M, 4) float32 cx, cy, w, h as fractions of the canvas, clipped to it.
        keep: (M,) int64 indices of the returned boxes in ``boxes_xyxy`` (boxes left off the canvas or thinner
            than :data:`MIN_BOX_SIDE` are dropped).
    """
    t = torch.as_tensor(np.asarray(image_u8))
    if t.ndim != 3 or t.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {tuple(t.shape)}")
    h, w = int(t.shape[0]), int(t.shape[1])
    nw, nh, dx, dy = jitter_params(w, h, size_w, size_h, jitter, rng, scale_range)
    x = t.permute(2, 0, 1).to(torch.float32) / 255.0
    canvas = place_image(x, nw, nh, dx, dy, size_w, size_h)
    if flip:
        canvas = TF.horizontal_flip(canvas)
    boxes, keep = transform_boxes(boxes_xyxy, w, h, nw, nh, dx, dy, size_w, size_h, flip)
    return canvas, boxes, keep


def rgb_to_hsv(image: torch.Tensor) -> torch.Tensor:
    """Darknet's ``rgb_to_hsv`` (``src/image.c``), vectorised: (3, ...) RGB -> (3, ...) H, S, V.

    ``v = max``, ``s = (max - min) / max`` (0 where max is 0), ``h`` in [0, 1) from the sextant formula.
    Grey pixels (max == min) get h = 0 where darknet computes 0/0 = NaN; it never matters, since s = 0
    there and ``hsv_to_rgb`` then ignores h. Own code because torchvision's RGB<->HSV helpers are private
    (``_rgb2hsv``), and its ``adjust_hue`` / ``adjust_saturation`` are not darknet's operations.
    """
    r, g, b = image[0], image[1], image[2]
    mx = torch.maximum(torch.maximum(r, g), b)
    mn = torch.minimum(torch.minimum(r, g), b)
    delta = mx - mn
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    h = torch.where(r == mx, (g - b) / safe, torch.where(g == mx, 2 + (b - r) / safe, 4 + (r - g) / safe))
    h = torch.where(h < 0, h + 6, h) / 6
    h = torch.where(delta > 0, h, torch.zeros_like(h))
    s = torch.where(mx != 0, delta / torch.where(mx != 0, mx, torch.ones_like(mx)), torch.zeros_like(mx))
    return torch.stack([h, s, mx])


def hsv_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """Darknet's ``hsv_to_rgb`` (``src/image.c``), vectorised: (3, ...) H, S, V -> (3, ...) RGB, unclamped.

    ``i = floor(6h)``, ``f = 6h - i``; sextants 0..4 as usual and every ``i >= 5`` (h == 1 included) as
    sextant 5, as darknet's ``else`` branch does. s == 0 gives r = g = b = v without a branch.
    """
    h6 = image[0] * 6
    s, v = image[1], image[2]
    i = torch.floor(h6)
    f = h6 - i
    i = i.clamp(max=5)
    p = v * (1 - s)
    q = v * (1 - s * f)
    t = v * (1 - s * (1 - f))
    sel = [i == k for k in range(5)]

    def pick(*vals: torch.Tensor) -> torch.Tensor:
        out = vals[5]
        for k in range(4, -1, -1):
            out = torch.where(sel[k], vals[k], out)
        return out

    return torch.stack([pick(v, q, p, p, t, v), pick(t, v, v, q, p, p), pick(p, p, t, v, v, q)])


def darknet_distort(image: torch.Tensor, dhue: float, dsat: float, dexp: float) -> torch.Tensor:
    """Darknet's ``distort_image`` (``src/image.c``): in HSV, s *= dsat, v *= dexp, h += dhue wrapped once
    (``h > 1``: -1; ``h < 0``: +1), back to RGB, clamped to [0, 1] (``constrain_image``).

    Returns a new (3, H, W) float32 tensor; ``image`` is left alone. (0, 1, 1) returns a copy unchanged
    (darknet would round-trip through HSV, changing values by float rounding only).
    """
    x = image.to(torch.float32)
    if dhue == 0 and dsat == 1 and dexp == 1:
        return x.clone()
    hsv = rgb_to_hsv(x)
    hue = hsv[0] + dhue
    hue = torch.where(hue > 1, hue - 1, hue)
    hue = torch.where(hue < 0, hue + 1, hue)
    out = hsv_to_rgb(torch.stack([hue, hsv[1] * dsat, hsv[2] * dexp]))
    return out.clamp_(0, 1)


def darknet_hsv(image: torch.Tensor, hue: float, saturation: float, exposure: float,
                rng: np.random.Generator) -> torch.Tensor:
    """Darknet's ``random_distort_image`` (``src/image.c``): ``dhue = U(-hue, hue)``,
    ``dsat = rand_scale(saturation)``, ``dexp = rand_scale(exposure)``, then :func:`darknet_distort`.

    ``saturation`` or ``exposure`` 0 means 1 (no change), as darknet's ``load_thread`` sets; so
    ``hue = 0`` with ``saturation, exposure`` in {0, 1} is the identity. Consumes 5 draws of ``rng``.

    Args:
        image: (3, H, W) float RGB in [0, 1] (the whole canvas, grey border included, as darknet).
    Returns:
        (3, H, W) float32 in [0, 1].
    """
    saturation = saturation or 1.0
    exposure = exposure or 1.0
    dhue = rand_uniform(rng, -hue, hue)
    dsat = rand_scale(rng, saturation)
    dexp = rand_scale(rng, exposure)
    return darknet_distort(image, dhue, dsat, dexp)
