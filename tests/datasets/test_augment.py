"""The training data pipeline: darknet's jitter / place / flip and HSV augmentation, the torch dataset, the
padding collate and the multi-scale batch sampler."""
from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from yolo9000.datasets import DetectionDataset, ImageRecord, load_dataset
from yolo9000.datasets.augment import (MIN_BOX_SIDE, darknet_distort, darknet_hsv, darknet_jitter_place,
                                       hsv_to_rgb, jitter_params, place_image, rand_scale, rgb_to_hsv,
                                       transform_boxes)
from yolo9000.datasets.torch_data import DEFAULT_SIZES, DetectionData, MultiScaleBatchSampler, collate, multiscale_sizes
from yolo9000.ops.letterbox import letterbox, letterbox_size, unletterbox_cxcywh
from yolo9000.predict.sources import load_image

ROOT = Path(__file__).resolve().parents[2]
RACCOON_YAML = ROOT / "data" / "raccoon.yaml"

COLOURS = np.array([[255, 0, 255], [0, 255, 255], [255, 255, 0]], np.uint8)
BACKGROUND = (40, 40, 160)


# ----------------------------------------------------------------------------------------------- helpers
def rect_image(w: int = 160, h: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """A dark-blue image with three filled rectangles of distinct colours, far apart and off the edges."""
    img = np.empty((h, w, 3), np.uint8)
    img[:] = BACKGROUND
    boxes = np.array([[6, 8, 50, 60], [80, 6, 150, 40], [70, 70, 120, 120]], np.float64)  # x1, y1, x2, y2
    for (x1, y1, x2, y2), c in zip(boxes.astype(int), COLOURS):
        img[y1:y2, x1:x2] = c
    return img, boxes


def naive_place(img: np.ndarray, nw: int, nh: int, dx: int, dy: int, size: int) -> np.ndarray:
    """darknet's place_image / bilinear_interpolate / get_pixel_extend, transliterated loop by loop."""
    h, w = img.shape[1:]
    out = np.full((3, size, size), 0.5, np.float32)

    def px(c: int, x: int, y: int) -> np.float32:
        return img[c, y, x] if 0 <= x < w and 0 <= y < h else np.float32(0)

    for c in range(3):
        for y in range(nh):
            for x in range(nw):
                if not (0 <= x + dx < size and 0 <= y + dy < size):
                    continue
                rx = np.float32(np.float32(x) / np.float32(nw)) * np.float32(w)
                ry = np.float32(np.float32(y) / np.float32(nh)) * np.float32(h)
                ix, iy = int(np.floor(rx)), int(np.floor(ry))
                fx, fy = np.float32(rx - ix), np.float32(ry - iy)
                one = np.float32(1)
                out[c, y + dy, x + dx] = ((one - fy) * (one - fx) * px(c, ix, iy) + fy * (one - fx) * px(c, ix, iy + 1)
                                          + (one - fy) * fx * px(c, ix + 1, iy) + fy * fx * px(c, ix + 1, iy + 1))
    return out


def write_dataset(tmp: Path, n: int = 6, difficult_last: bool = False) -> DetectionDataset:
    """``n`` synthetic PNG images of varied sizes with 1..3 boxes each."""
    rng = np.random.default_rng(123)
    records = []
    for i in range(n):
        w, h = int(rng.integers(60, 140)), int(rng.integers(60, 140))
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        p = tmp / f"im{i}.png"
        Image.fromarray(img).save(p)
        k = 1 + i % 3
        x1 = rng.uniform(0, w / 2, k)
        y1 = rng.uniform(0, h / 2, k)
        boxes = np.stack([x1, y1, x1 + rng.uniform(8, w / 2, k), y1 + rng.uniform(8, h / 2, k)], 1)
        diff = np.zeros(k, bool)
        if difficult_last:
            diff[-1] = True
        records.append(ImageRecord(p, w, h, boxes, np.arange(k) % 2, diff, np.zeros(k, bool), f"im{i}"))
    return DetectionDataset(("a", "b"), "train", tmp, tuple(records), "voc")


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> DetectionDataset:
    return write_dataset(tmp_path_factory.mktemp("synth"))


# ------------------------------------------------------------------------------------- jitter / place
@pytest.mark.parametrize("flip", [False, True])
def test_boxes_follow_the_pixels(flip: bool) -> None:
    """Across many draws, inside every returned box is its rectangle's colour and just outside is not."""
    img, boxes = rect_image()
    size = 128
    seen_clipped = seen_dropped = 0
    for seed in range(80):
        x, b, keep = darknet_jitter_place(img, boxes, size, size, 0.3, np.random.default_rng(seed), flip)
        assert x.shape == (3, size, size) and x.dtype == torch.float32
        assert b.shape == (len(keep), 4) and keep.dtype == torch.int64
        assert float(x.min()) >= 0 and float(x.max()) <= 1
        seen_dropped += len(keep) < 3
        canvas = x.permute(1, 2, 0).numpy()
        for (cx, cy, bw, bh), k in zip(b.tolist(), keep.tolist()):
            colour = COLOURS[k] / 255.0
            x1, x2 = (cx - bw / 2) * size, (cx + bw / 2) * size
            y1, y2 = (cy - bh / 2) * size, (cy + bh / 2) * size
            assert -1e-4 <= x1 and x2 <= size + 1e-4 and -1e-4 <= y1 and y2 <= size + 1e-4
            seen_clipped += x1 < 1e-6 or y1 < 1e-6 or x2 > size - 1e-6 or y2 > size - 1e-6
            ix1, ix2, iy1, iy2 = int(np.ceil(x1)) + 1, int(np.floor(x2)) - 1, int(np.ceil(y1)) + 1, int(np.floor(y2)) - 1
            if ix2 > ix1 and iy2 > iy1:  # the inside, a pixel in from each side
                inside = canvas[iy1:iy2, ix1:ix2]
                assert np.abs(inside - colour).max() < 0.02, (seed, k)
            # just outside: pixels 1.5..3 px beyond each side (those on the canvas)
            dist = np.abs(canvas - colour).max(axis=2)
            ys, xs = np.mgrid[0:size, 0:size] + 0.5
            gap = np.maximum(np.maximum(x1 - xs, xs - x2), np.maximum(y1 - ys, ys - y2))
            ring = (gap >= 1.5) & (gap <= 3)
            if ring.any():
                assert dist[ring].min() > 0.3, (seed, k)
    assert seen_clipped > 5 and seen_dropped > 0  # the draws did reach the canvas edge


def test_flip_mirrors_image_and_boxes() -> None:
    img, boxes = rect_image()
    for seed in range(10):
        x0, b0, k0 = darknet_jitter_place(img, boxes, 96, 96, 0.3, np.random.default_rng(seed), False)
        x1, b1, k1 = darknet_jitter_place(img, boxes, 96, 96, 0.3, np.random.default_rng(seed), True)
        assert torch.equal(x1, x0.flip(-1))
        assert torch.equal(k0, k1)
        assert torch.allclose(b1[:, 0], 1 - b0[:, 0], atol=1e-6)
        assert torch.allclose(b1[:, 1:], b0[:, 1:], atol=1e-6)


def test_clipping_and_dropping_at_the_canvas_edge() -> None:
    # identity placement on a 1000 px canvas: pixels are thousandths
    boxes = np.array([[-50, 100, 300, 400],     # clipped on the left
                      [900, 950, 1100, 1200],   # clipped right and bottom
                      [1001, 10, 1100, 90],     # wholly off the canvas: dropped
                      [10, 10, 10.9, 90],       # 0.9 px wide < 0.001: dropped
                      [20, 10, 21.1, 90],       # 1.1 px wide: kept
                      [-40, -30, -1, 50]])      # off the left: dropped
    b, keep = transform_boxes(boxes, 1000, 1000, 1000, 1000, 0, 0, 1000, 1000, flip=False)
    assert keep.tolist() == [0, 1, 4]
    expect = np.array([[0.15, 0.25, 0.3, 0.3], [0.95, 0.975, 0.1, 0.05], [0.02055, 0.05, 0.0011, 0.08]])
    np.testing.assert_allclose(b.numpy(), expect, atol=1e-6)
    bf, keepf = transform_boxes(boxes, 1000, 1000, 1000, 1000, 0, 0, 1000, 1000, flip=True)
    assert keepf.tolist() == [0, 1, 4]
    np.testing.assert_allclose(bf[:, 0].numpy(), 1 - expect[:, 0], atol=1e-6)
    # scale, then offset: a 200x100 image drawn 400x200 at (-100, 50) on a 300 canvas
    b, keep = transform_boxes(np.array([[0, 0, 100, 50], [10, 10, 40, 30]]), 200, 100, 400, 200, -100, 50, 300, 300,
                              flip=False)
    assert keep.tolist() == [0]  # the second lands at x in [-80, -20]: off the canvas
    np.testing.assert_allclose(b.numpy(), [[50 / 300, 100 / 300, 100 / 300, 100 / 300]], atol=1e-6)
    assert MIN_BOX_SIDE == 0.001


def test_large_scale_goes_off_canvas() -> None:
    for seed in range(20):
        nw, nh, dx, dy = jitter_params(300, 200, 100, 100, 0.2, np.random.default_rng(seed), (2.0, 2.0))
        assert max(nw, nh) == 200  # larger than the canvas: partly off it
        assert min(0, 100 - nw) <= dx <= max(0, 100 - nw) and min(0, 100 - nh) <= dy <= max(0, 100 - nh)
        assert dx <= 0 and dx + nw >= 100 if nw >= 100 else dy <= 0 and dy + nh >= 100
        nw, nh, dx, dy = jitter_params(300, 200, 100, 100, 0.2, np.random.default_rng(seed), (0.25, 0.25))
        assert max(nw, nh) == 25 and 0 <= dx <= 100 - nw and 0 <= dy <= 100 - nh


def test_placement_truncates_toward_zero() -> None:
    """place_image takes ints: darknet's float nw, nh, dx, dy are truncated toward zero (not rounded or floored)."""
    nw, nh, dx, dy = jitter_params(100, 100, 100, 100, 0.0, np.random.default_rng(0), (0.999, 0.999))
    assert (nw, nh, dx, dy) == (99, 99, 0, 0)  # 99.9 -> 99; U(0, 0.1) -> 0
    dxs = [jitter_params(100, 100, 100, 100, 0.0, np.random.default_rng(s), (1.5, 1.5))[2] for s in range(200)]
    assert min(dxs) == -49 and max(dxs) == 0  # U(-50, 0): -49.x -> -49 (floor would reach -50)


def test_no_jitter_unit_scale_no_flip_is_a_plain_resize() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    boxes = np.array([[8.0, 4.0, 40.0, 60.0]])
    ref = torch.from_numpy(img).permute(2, 0, 1).float() / 255
    x, b, keep = darknet_jitter_place(img, boxes, 32, 32, 0.0, rng, False, scale_range=(1.0, 1.0))
    assert torch.equal(x, ref[:, ::2, ::2])  # darknet samples at x * W / nw: every other pixel, exactly
    np.testing.assert_allclose(b.numpy(), [[24 / 64, 32 / 64, 32 / 64, 56 / 64]], atol=1e-7)
    x, b, _ = darknet_jitter_place(img, boxes, 64, 64, 0.0, rng, False, scale_range=(1.0, 1.0))
    assert torch.equal(x, ref)  # same size: the image itself
    # a wide image: full width, placed at a random height, the rest grey
    wide = rng.integers(0, 256, (30, 60, 3), dtype=np.uint8)
    x, b, _ = darknet_jitter_place(wide, np.array([[0.0, 0.0, 60.0, 30.0]]), 40, 40, 0.0,
                                   np.random.default_rng(5), False, scale_range=(1.0, 1.0))
    top = int(round((b[0, 1] - b[0, 3] / 2).item() * 40))
    assert b[0, 2].item() == 1.0 and abs(b[0, 3].item() - 0.5) < 1e-6
    assert torch.all(x[:, :top] == 0.5) and torch.all(x[:, top + 20:] == 0.5)
    wref = torch.from_numpy(wide).permute(2, 0, 1).float() / 255
    assert torch.equal(x[:, top:top + 20, :], place_image(wref, 40, 20, 0, 0, 40, 20))


def test_place_image_matches_darknet_loops() -> None:
    rng = np.random.default_rng(1)
    for nw, nh, dx, dy in [(23, 17, 3, -4), (50, 9, -20, 10), (7, 30, 12, 2), (40, 40, 0, 0)]:
        img = rng.random((3, 13, 19), dtype=np.float32)
        got = place_image(torch.from_numpy(img), nw, nh, dx, dy, 32, 32).numpy()
        np.testing.assert_array_equal(got, naive_place(img, nw, nh, dx, dy, 32))


# ----------------------------------------------------------------------------------------------- HSV
def test_hsv_zero_ranges_is_identity() -> None:
    x = torch.rand(3, 20, 24)
    for sat, exp in [(1.0, 1.0), (0.0, 0.0)]:
        assert torch.equal(darknet_hsv(x, 0.0, sat, exp, np.random.default_rng(0)), x)


def test_rgb_hsv_conversions() -> None:
    rng = np.random.default_rng(2)
    px = rng.random((3, 500)).astype(np.float32)
    px[:, :20] = px[0, :20]  # greys
    px[:, 20:25] = 0  # black
    hsv = rgb_to_hsv(torch.from_numpy(px)).numpy()
    ref = np.array([colorsys.rgb_to_hsv(*p) for p in px.T.astype(np.float64)]).T
    np.testing.assert_allclose(hsv, ref, atol=1e-6)
    np.testing.assert_allclose(hsv_to_rgb(torch.from_numpy(hsv)).numpy(), px, atol=1e-6)


def test_hue_wraps_and_scales_clamp() -> None:
    red = torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1)  # h = 0
    out = darknet_distort(red, -0.1, 1.0, 1.0)  # h = -0.1 -> 0.9 (magenta side)
    np.testing.assert_allclose(out.flatten().numpy(), [1.0, 0.0, 0.6], atol=1e-6)
    hue95 = torch.from_numpy(np.array(colorsys.hsv_to_rgb(0.95, 1.0, 1.0), np.float32)).view(3, 1, 1)
    out = darknet_distort(hue95, 0.1, 1.0, 1.0)  # 1.05 -> 0.05
    np.testing.assert_allclose(out.flatten().numpy(), colorsys.hsv_to_rgb(0.05, 1.0, 1.0), atol=1e-5)
    assert torch.allclose(darknet_distort(hue95, 0.5, 1, 1), darknet_distort(hue95, -0.5, 1, 1), atol=1e-6)
    c = torch.tensor([0.8, 0.4, 0.2]).view(3, 1, 1)
    np.testing.assert_allclose(darknet_distort(c, 0, 1, 2).flatten().numpy(), [1.0, 0.8, 0.4], atol=1e-6)
    np.testing.assert_allclose(darknet_distort(c, 0, 3, 1).flatten().numpy(), [0.8, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(darknet_distort(c, 0, 0.5, 0.5).flatten().numpy(), [0.4, 0.3, 0.25], atol=1e-6)
    grey = torch.full((3, 2, 2), 0.5)
    assert torch.allclose(darknet_distort(grey, 0.3, 1.5, 1.0), grey)  # hue and saturation leave greys alone


def test_rand_scale_range() -> None:
    rng = np.random.default_rng(0)
    v = np.array([rand_scale(rng, 1.5) for _ in range(2000)])
    assert v.min() >= 1 / 1.5 - 1e-9 and v.max() <= 1.5 + 1e-9
    assert 0.4 < (v < 1).mean() < 0.6


# ------------------------------------------------------------------------------------------ dataset
def test_item_determinism(synth: DetectionDataset) -> None:
    a = DetectionData(synth, seed=7)
    b = DetectionData(synth, seed=7)
    first = [a[(i, 96)] for i in range(len(synth))]
    for i in reversed(range(len(synth))):  # order of access does not matter
        x, t = b[(i, 96)]
        assert torch.equal(x, first[i][0]) and torch.equal(t, first[i][1])
    assert torch.equal(a[2][0], b[(2, 416)][0])  # an int key uses the default size
    assert torch.equal(a[(2, 96, 1)][0], DetectionData(synth, seed=7, epoch=1)[(2, 96)][0])
    b.set_epoch(1)
    assert not torch.equal(b[(0, 96)][0], first[0][0])  # a new epoch, new augmentation
    assert not torch.equal(DetectionData(synth, seed=8)[(0, 96)][0], first[0][0])
    for x, t in first:
        assert x.shape == (3, 96, 96) and x.dtype == torch.float32
        assert t.ndim == 2 and t.shape[1] == 5 and t.dtype == torch.float32
        assert torch.all((t[:, :4] >= 0) & (t[:, :4] <= 1)) and torch.all(t[:, 2:4] >= MIN_BOX_SIDE)


def test_eval_mode_is_the_letterbox(synth: DetectionDataset) -> None:
    data = DetectionData(synth, train=False)
    for i, rec in enumerate(synth.records):
        x, t = data[(i, 128)]
        img = load_image(rec.image)
        assert torch.equal(x, letterbox(img, 128))
        # the boxes follow the pixels, pasted at the integer offset ((128 - new_w) // 2, (128 - new_h) // 2);
        # unletterbox_cxcywh (darknet's correct_region_boxes) takes the offset unrounded: half a pixel apart
        new_w, new_h = letterbox_size(rec.width, rec.height, 128, 128)
        b = np.clip(rec.boxes_xyxy, 0, [rec.width, rec.height] * 2) * ([new_w / rec.width, new_h / rec.height] * 2)
        b = (b + ([(128 - new_w) // 2, (128 - new_h) // 2] * 2)) / 128
        ref = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)
        np.testing.assert_allclose(t[:, :4].numpy(), ref, atol=1e-6)
        back = unletterbox_cxcywh(t[:, :4].double(), rec.width, rec.height, 128, 128).numpy()
        np.testing.assert_allclose(back[:, 2:], ref[:, 2:] * 128 * [rec.width / new_w, rec.height / new_h], atol=1e-3)
        assert t[:, 4].tolist() == rec.labels.tolist()


def test_difficult_boxes_are_left_out(tmp_path: Path) -> None:
    ds = write_dataset(tmp_path, n=3, difficult_last=True)
    for train in (False, True):
        data = DetectionData(ds, train=train, jitter=0.0, scale_range=(1.0, 1.0))
        keep = DetectionData(ds, train=train, jitter=0.0, scale_range=(1.0, 1.0), keep_difficult=True)
        for i, rec in enumerate(ds.records):
            assert len(data[(i, 64)][1]) == len(rec) - 1
            assert len(keep[(i, 64)][1]) == len(rec)


def test_max_boxes(synth: DetectionDataset) -> None:
    data = DetectionData(synth, jitter=0.0, scale_range=(1.0, 1.0), max_boxes=1)
    assert all(len(data[(i, 64)][1]) <= 1 for i in range(len(synth)))


def test_collate_pads_with_zeros() -> None:
    batch = [(torch.rand(3, 32, 32), torch.zeros(0, 5)),
             (torch.rand(3, 32, 32), torch.tensor([[0.5, 0.5, 0.2, 0.3, 1.0], [0.1, 0.2, 0.1, 0.1, 0.0]])),
             (torch.rand(3, 32, 32), torch.tensor([[0.4, 0.4, 0.1, 0.2, 2.0]]))]
    images, targets = collate(batch)
    assert images.shape == (3, 3, 32, 32) and targets.shape == (3, 2, 5)
    assert torch.equal(images[1], batch[1][0])
    assert torch.equal(targets[1], batch[1][1]) and torch.equal(targets[2, 0], batch[2][1][0])
    assert torch.all(targets[0] == 0) and torch.all(targets[2, 1] == 0)
    images, targets = collate(batch[:1])
    assert targets.shape == (1, 1, 5) and torch.all(targets == 0)


# ------------------------------------------------------------------------------------------ sampler
def test_sampler_sizes_change_every_ten_batches() -> None:
    s = MultiScaleBatchSampler(1000, batch_size=2, seed=3)
    batches = list(s)
    assert len(batches) == len(s) == 500
    sizes = [b[0][1] for b in batches]
    assert all(len({k[1] for k in b}) == 1 for b in batches)
    for j in range(1, len(sizes)):
        if j % 10:
            assert sizes[j] == sizes[j - 1]
    starts = sizes[::10]
    assert sum(a != b for a, b in zip(starts, starts[1:])) > 30  # new sizes are drawn at block starts
    assert DEFAULT_SIZES == tuple(range(320, 609, 32))
    assert set(sizes) == set(DEFAULT_SIZES)  # every size, all multiples of 32 in [320, 608]
    assert all(sz % 32 == 0 and 320 <= sz <= 608 for sz in sizes)
    assert sorted(k[0] for b in batches for k in b) == list(range(1000))


def test_sampler_shuffle_epochs_and_drop_last() -> None:
    s = MultiScaleBatchSampler(23, batch_size=5, shuffle=False, seed=0)
    batches = list(s)
    assert len(s) == 5 and [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert [k[0] for b in batches for k in b] == list(range(23))
    s = MultiScaleBatchSampler(23, batch_size=5, drop_last=True, seed=0)
    assert len(s) == 4 and len(list(s)) == 4
    e0 = list(s)
    assert e0 == list(MultiScaleBatchSampler(list(range(23)), batch_size=5, drop_last=True, seed=0))
    s.set_epoch(1)
    assert list(s) != e0


def test_multiscale_sizes_draw_one_size_per_block_and_restart_each_epoch() -> None:
    """One uniform draw per block of ``every`` batches from the (tag, seed, epoch) stream; the detection and the
    joint samplers share it (their tags differ)."""
    sizes = multiscale_sizes((320, 352, 384), 25, 10, (2, 11, 3))
    k = np.random.default_rng([2, 11, 3]).integers(3, size=3)
    assert sizes == [(320, 352, 384)[k[b // 10]] for b in range(25)]
    assert multiscale_sizes((320, 352), 0, 10, (2, 0, 0)) == []
    s = MultiScaleBatchSampler(300, batch_size=4, sizes=(320, 352, 384), every=10, seed=11, epoch=3)
    assert s.batch_sizes() == multiscale_sizes((320, 352, 384), 75, 10, (2, 11, 3))  # _SIZES = 2
    assert [b[0][1] for b in s] == s.batch_sizes()


def test_dataloader_workers_give_the_same_batches(synth: DetectionDataset) -> None:
    data = DetectionData(synth, seed=5)
    sizes = (64, 96)

    def run(workers: int) -> list:
        s = MultiScaleBatchSampler(data, batch_size=2, sizes=sizes, every=2, seed=5, epoch=1)
        data.set_epoch(1)
        loader = DataLoader(data, batch_sampler=s, collate_fn=collate, num_workers=workers)
        return list(loader)

    serial = run(0)
    parallel = run(2)
    assert len(serial) == len(parallel) == 3
    for (xa, ta), (xb, tb) in zip(serial, parallel):
        assert torch.equal(xa, xb) and torch.equal(ta, tb)
        assert xa.shape[-1] in sizes and ta.shape[2] == 5


def test_raccoon_smoke() -> None:
    ds = load_dataset(RACCOON_YAML, "train")
    data = DetectionData(ds, seed=0)
    sampler = MultiScaleBatchSampler(data, batch_size=4, seed=0)
    loader = DataLoader(data, batch_sampler=sampler, collate_fn=collate)
    it = iter(loader)
    for _ in range(2):
        images, targets = next(it)
        s = images.shape[-1]
        assert images.shape == (4, 3, s, s) and s in DEFAULT_SIZES
        assert 0 <= float(images.min()) and float(images.max()) <= 1
        real = targets[..., 2] > 0
        assert real.any()
        assert torch.all(targets[real][:, 4] == 0)  # one class
        assert torch.all((targets[real][:, :4] >= 0) & (targets[real][:, :4] <= 1))
    x, t = DetectionData(ds, train=False)[(0, 320)]
    assert x.shape == (3, 320, 320) and len(t) == len(ds.records[0])
