"""``letterbox`` and ``unletterbox_cxcywh`` against an independent float32 transcription of darknet's C source
(pjreddie/darknet ``src/image.c``: ``load_image``'s byte / 255., ``resize_image``, ``letterbox_image``,
``embed_image``; ``src/region_layer.c``: ``correct_region_boxes``), over a sweep of image and network sizes.

The transcription follows the C loops one by one: a Python loop for every loop over a resampled axis, with
darknet's float32 scalars for the sample position, index and weight. The loops over the axes a step leaves
untouched (channels, and the rows of the horizontal pass or the columns of the vertical one) are NumPy
rows: they apply the same float32 operation to each element, in the same order, so nothing is rounded
differently from the C code, and the sweep stays affordable.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from yolo9000.ops.letterbox import letterbox, letterbox_size, unletterbox_cxcywh

f32 = np.float32
NET_SIZES = list(range(96, 641, 32))  # 18 sizes
COMMON = [(773, 512), (640, 424), (768, 576), (500, 375), (1920, 1080), (640, 480), (1280, 720), (800, 600),
          (416, 416), (1, 1), (1, 2000), (2000, 1), (2, 3)]


# ----------------------------------------------------------------------------- the transcription
def dn_load(u8: np.ndarray) -> np.ndarray:
    """load_image: ``im.data[dst] = (float)data[src]/255.;`` (the division in double), as (C, H, W)."""
    return (u8.transpose(2, 0, 1).astype(np.float64) / 255.).astype(f32)


def dn_resize(im: np.ndarray, w: int, h: int, cols: np.ndarray | None = None) -> np.ndarray:
    """resize_image(im, w, h) on a (C, im_h, im_w) float32 image -> (C, h, w); ``cols``: the same image as
    (C, im_w, im_h), column c of every row at once (made here if not given)."""
    c_, im_h, im_w = im.shape
    cols = np.ascontiguousarray(im.transpose(0, 2, 1)) if cols is None else cols
    part = np.zeros((c_, w, im_h), f32)                 # part, column-major likewise
    with np.errstate(divide="ignore", invalid="ignore"):
        w_scale = f32(im_w - 1) / f32(w - 1)  # (float)(im.w - 1) / (w - 1)
        h_scale = f32(im_h - 1) / f32(h - 1)
    for c in range(w):  # for k, for r: the rows and channels of column c at once
        if c == w - 1 or im_w == 1:
            val = cols[:, im_w - 1]
        else:
            sx = f32(c) * w_scale
            ix = int(sx)
            dx = f32(sx - f32(ix))
            val = f32(f32(1) - dx) * cols[:, ix] + dx * cols[:, ix + 1]
        part[:, c] = val
    part = np.ascontiguousarray(part.transpose(0, 2, 1))  # (C, im_h, w): a copy, no arithmetic
    resized = np.zeros((c_, h, w), f32)
    for r in range(h):  # for k, for r: then for c, all columns of row r at once
        if h == 1:  # (float)(im.h-1)/0 * 0 is NaN: darknet's (int)NaN is undefined; row 0 here
            sy = f32(0)
        else:
            sy = f32(r) * h_scale
        iy = int(sy)
        dy = f32(sy - f32(iy))
        resized[:, r, :] = f32(f32(1) - dy) * part[:, iy, :]
        if r == h - 1 or im_h == 1:
            continue
        resized[:, r, :] += dy * part[:, iy + 1, :]
    return resized


def dn_letterbox(im: np.ndarray, w: int, h: int, cols: np.ndarray | None = None) -> np.ndarray:
    """letterbox_image(im, w, h) on a loaded (C, im_h, im_w) float32 image (:func:`dn_load`) -> (C, h, w)."""
    im_h, im_w = im.shape[1:]
    if (f32(w) / f32(im_w)) < (f32(h) / f32(im_h)):  # ((float)w/im.w) < ((float)h/im.h)
        new_w, new_h = w, (im_h * w) // im_w
    else:
        new_h, new_w = h, (im_w * h) // im_h
    boxed = np.full((3, h, w), f32(0.5), f32)  # fill_image(boxed, .5)
    if new_w == 0 or new_h == 0:  # make_image of an empty image: embed_image copies nothing
        return boxed
    resized = dn_resize(im, new_w, new_h, cols)
    dx, dy = (w - new_w) // 2, (h - new_h) // 2
    for y in range(new_h):  # embed_image(resized, boxed, dx, dy): set_pixel, row by row
        boxed[:, dy + y, dx:dx + new_w] = resized[:, y, :]
    return boxed


def dn_size(im_w: int, im_h: int, w: int, h: int) -> tuple[int, int]:
    """letterbox_image's (new_w, new_h): 0 for a side of an image thin enough (where ours keeps 1 px)."""
    if (f32(w) / f32(im_w)) < (f32(h) / f32(im_h)):
        return w, (im_h * w) // im_w
    return (im_w * h) // im_h, h


def dn_correct_region_boxes(b: np.ndarray, w: int, h: int, netw: int, neth: int) -> np.ndarray:
    """correct_region_boxes(dets, n, w, h, netw, neth, relative=0) on (N, 4) float32 x, y, w, h."""
    if (f32(netw) / f32(w)) < (f32(neth) / f32(h)):
        new_w, new_h = netw, (h * netw) // w
    else:
        new_h, new_w = neth, (w * neth) // h
    out = np.empty_like(b)
    for i in range(len(b)):
        x, y, bw, bh = (f32(v) for v in b[i])
        # b.x = (b.x - (netw - new_w)/2./netw) / ((float)new_w/netw): a double expression stored in a float
        x = f32((float(x) - (netw - new_w) / 2. / netw) / float(f32(new_w) / f32(netw)))
        y = f32((float(y) - (neth - new_h) / 2. / neth) / float(f32(new_h) / f32(neth)))
        bw = f32(bw * f32(f32(netw) / f32(new_w)))  # b.w *= (float)netw/new_w
        bh = f32(bh * f32(f32(neth) / f32(new_h)))
        out[i] = (f32(x * f32(w)), f32(y * f32(h)), f32(bw * f32(w)), f32(bh * f32(h)))  # b.x *= w, ...
    return out


# ----------------------------------------------------------------------------- the sweep
def image_sizes() -> list[tuple[int, int]]:
    """300 random (w, h) in [1, 2000]^2, plus common photo sizes in both orientations."""
    rng = np.random.default_rng(2017)
    sizes = [tuple(int(v) for v in rng.integers(1, 2001, 2)) for _ in range(300)]
    return sizes + COMMON + [(h, w) for w, h in COMMON if w != h]


@pytest.fixture(scope="module")
def base_image() -> np.ndarray:
    return np.random.default_rng(9000).integers(0, 256, (2000, 2000, 3), dtype=np.uint8)


def net_pairs(k: int) -> list[tuple[int, int]]:
    """Every square size, and for each a non-square partner (a different size, varying with ``k``)."""
    return [(s, s) for s in NET_SIZES] + [(s, NET_SIZES[(i + 1 + k) % len(NET_SIZES)])
                                           for i, s in enumerate(NET_SIZES)]


def test_sweep_covers_what_the_issue_asks():
    sizes = image_sizes()
    assert len(set(sizes)) >= 300 and all(1 <= w <= 2000 and 1 <= h <= 2000 for w, h in sizes)
    assert {(773, 512), (512, 773), (1920, 1080), (1080, 1920), (500, 375), (375, 500)} <= set(sizes)
    pairs = net_pairs(0)
    assert {s for s, _ in pairs} == set(NET_SIZES) and any(w != h for w, h in pairs)


@pytest.mark.parametrize("chunk", range(4))
def test_letterbox_equals_darknet_over_the_sweep(base_image, chunk):
    sizes = image_sizes()[chunk::4]
    worst, where = 0.0, None
    for k, (w, h) in enumerate(sizes):
        img = base_image[:h, :w]
        im = dn_load(img)
        cols = np.ascontiguousarray(im.transpose(0, 2, 1))
        for net_w, net_h in net_pairs(k + chunk):
            if 0 in dn_size(w, h, net_w, net_h):  # darknet embeds nothing; ours keeps 1 px (test_letterbox.py)
                continue
            ours = letterbox(img, net_w, net_h).numpy()
            ref = dn_letterbox(im, net_w, net_h, cols)
            d = float(np.abs(ours - ref).max())
            if d > worst:
                worst, where = d, ((w, h), (net_w, net_h))
            assert ours.shape == ref.shape
    assert worst <= 1e-6, f"letterbox differs from darknet by {worst} at image, net = {where}"


def test_the_sweep_hits_darknets_last_row_quirk(base_image):
    """The cases the sweep exists for: darknet's last row is not the image's last row (its position rounds
    down in float32, and its second term is dropped), which torch's align-corners resize gets 'right'."""
    import torch.nn.functional as F

    hits = []
    for w, h in image_sizes():
        for net_w, net_h in net_pairs(0):
            new_w, new_h = letterbox_size(w, h, net_w, net_h)
            if new_h < 2 or h < 2:
                continue
            sy = f32(new_h - 1) * (f32(h - 1) / f32(new_h - 1))
            if int(sy) < h - 1:
                hits.append(((w, h), (net_w, net_h)))
    assert len(hits) >= 10, hits
    (w, h), (net_w, net_h) = hits[0]
    img = base_image[:h, :w]
    new_w, new_h = letterbox_size(w, h, net_w, net_h)
    x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float() / 255
    torch_resize = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=True)[0].numpy()
    dn = dn_resize(dn_load(img), new_w, new_h)
    assert np.abs(torch_resize[:, -1] - dn[:, -1]).max() > 0.05  # one whole row apart
    dy = (net_h - new_h) // 2
    assert np.abs(letterbox(img, net_w, net_h).numpy()[:, dy + new_h - 1] - dn_letterbox(dn_load(img), net_w, net_h)[
        :, dy + new_h - 1]).max() <= 1e-6


def test_correct_region_boxes_equals_darknet_over_the_sweep():
    rng = np.random.default_rng(5)
    worst = 0.0
    for k, (w, h) in enumerate(image_sizes()):
        for net_w, net_h in net_pairs(k):
            if 0 in dn_size(w, h, net_w, net_h):  # darknet divides by 0 there; ours keeps 1 px (test_letterbox.py)
                continue
            b = rng.random((6, 4), dtype=np.float32)
            ref = dn_correct_region_boxes(b, w, h, net_w, net_h)
            ours = unletterbox_cxcywh(torch.from_numpy(b), w, h, net_w, net_h)
            assert ours.dtype == torch.float32
            scale = np.maximum(1.0, np.abs(ref))
            worst = max(worst, float((np.abs(ours.numpy() - ref) / scale).max()))
    assert worst <= 1e-6, worst


def test_byte_to_float_is_darknets():
    ours = letterbox(np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, 2), 16).numpy()
    assert np.array_equal(ours, dn_load(np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, 2)))
    img = np.random.default_rng(3).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    assert np.array_equal(letterbox(img, 53, 37).numpy(), dn_letterbox(dn_load(img), 53, 37))  # no resize
