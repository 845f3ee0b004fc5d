"""``box_convert`` (every pair of formats, tensors and arrays) and the letterbox's two box mappings."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torchvision

from yolo9000.ops.boxes import BOX_FORMATS, box_convert
from yolo9000.ops.letterbox import letterbox_size, letterbox_xyxy, unletterbox_cxcywh

PAIRS = list(itertools.permutations(BOX_FORMATS, 2))

# one box, x1=10 y1=20 x2=50 y2=80, in each format
KNOWN = {"xyxy": [10.0, 20.0, 50.0, 80.0], "xywh": [10.0, 20.0, 40.0, 60.0], "cxcywh": [30.0, 50.0, 40.0, 60.0]}


def _random_xyxy(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """(*shape, 4) float64 corners with x2 > x1, y2 > y1, in a 1000-pixel image."""
    rng = np.random.default_rng(seed)
    xy1 = rng.uniform(-50, 900, (*shape, 2))
    wh = rng.uniform(0.5, 400, (*shape, 2))
    return np.concatenate([xy1, xy1 + wh], axis=-1)


def _in_format(boxes_xyxy: np.ndarray, fmt: str) -> np.ndarray:
    """Independent reference: the columns written out per format, in float64."""
    x1, y1, x2, y2 = (boxes_xyxy[..., k] for k in range(4))
    cols = {"xyxy": (x1, y1, x2, y2), "xywh": (x1, y1, x2 - x1, y2 - y1),
            "cxcywh": ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)}[fmt]
    return np.stack(cols, axis=-1)


# ----------------------------------------------------------------------------- known values
@pytest.mark.parametrize("in_fmt, out_fmt", PAIRS)
@pytest.mark.parametrize("kind", ["array", "tensor"])
def test_known_values(in_fmt: str, out_fmt: str, kind: str) -> None:
    b = np.array([KNOWN[in_fmt]]) if kind == "array" else torch.tensor([KNOWN[in_fmt]])
    out = box_convert(b, in_fmt, out_fmt)
    got = out.tolist()
    assert got == [KNOWN[out_fmt]]


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("in_fmt, out_fmt", PAIRS)
def test_array_round_trip_of_every_pair(in_fmt: str, out_fmt: str) -> None:
    b = _in_format(_random_xyxy((500,)), in_fmt)
    there = box_convert(b, in_fmt, out_fmt)
    np.testing.assert_allclose(there, _in_format(_random_xyxy((500,)), out_fmt), rtol=1e-12, atol=1e-9)
    back = box_convert(there, out_fmt, in_fmt)
    np.testing.assert_allclose(back, b, rtol=1e-12, atol=1e-9)
    assert not np.array_equal(there, b)  # a conversion, not a copy


@pytest.mark.parametrize("in_fmt, out_fmt", PAIRS)
@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-4), (torch.float64, 1e-9)])
def test_tensor_round_trip_of_every_pair(in_fmt: str, out_fmt: str, dtype: torch.dtype, tol: float) -> None:
    b = torch.from_numpy(_in_format(_random_xyxy((500,), seed=1), in_fmt)).to(dtype)
    there = box_convert(b, in_fmt, out_fmt)
    ref = torch.from_numpy(_in_format(_random_xyxy((500,), seed=1), out_fmt)).to(dtype)
    torch.testing.assert_close(there, ref, rtol=tol, atol=tol)
    torch.testing.assert_close(box_convert(there, out_fmt, in_fmt), b, rtol=tol, atol=tol)


@pytest.mark.parametrize("in_fmt, out_fmt", PAIRS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tensors_and_arrays_give_the_same_bits(in_fmt: str, out_fmt: str, dtype: type) -> None:
    b = _in_format(_random_xyxy((300,), seed=2), in_fmt).astype(dtype)
    from_array = box_convert(b, in_fmt, out_fmt)
    from_tensor = box_convert(torch.from_numpy(b), in_fmt, out_fmt).numpy()
    assert from_array.dtype == from_tensor.dtype == dtype
    assert np.array_equal(from_array, from_tensor)


# ----------------------------------------------------------------------------- the arithmetic pinned
@pytest.mark.parametrize("in_fmt, out_fmt", [("cxcywh", "xyxy"), ("xyxy", "cxcywh"), ("xyxy", "xywh"),
                                              ("xywh", "xyxy")])
def test_bit_equal_to_torchvision(in_fmt: str, out_fmt: str) -> None:
    """The pairs torchvision converts in one step give its very bits (the region decode and the CIoU loss
    used it before), in float32."""
    b = torch.from_numpy(_in_format(_random_xyxy((1000,), seed=3), in_fmt)).float()
    assert torch.equal(box_convert(b, in_fmt, out_fmt), torchvision.ops.box_convert(b, in_fmt, out_fmt))


def test_centre_is_the_corners_mean_not_a_half_width_step() -> None:
    """``(x1 + x2) / 2`` (darknet's and the old data pipeline's form), which rounds unlike ``x1 + (x2 - x1) / 2``:
    the latter differs on some of these boxes, box_convert on none."""
    b = _random_xyxy((2000,), seed=4).astype(np.float32)
    cx = box_convert(b, "xyxy", "cxcywh")[:, 0]
    assert np.array_equal(cx, (b[:, 0] + b[:, 2]) / 2)
    assert not np.array_equal(cx, b[:, 0] + (b[:, 2] - b[:, 0]) / 2)


def test_a_corner_from_a_centre_is_cx_minus_half_w() -> None:
    """``cx - w / 2``, as the ONNX export and the loader wrote it (bit-equal to ``cx - 0.5 * w``)."""
    b = _in_format(_random_xyxy((2000,), seed=5), "cxcywh").astype(np.float32)
    xyxy = box_convert(b, "cxcywh", "xyxy")
    assert np.array_equal(xyxy[:, 0], b[:, 0] - b[:, 2] / 2)
    assert np.array_equal(xyxy[:, 3], b[:, 1] + np.float32(0.5) * b[:, 3])


# ----------------------------------------------------------------------------- kinds, dtypes, shapes
@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_a_tensor_keeps_its_dtype(dtype: torch.dtype) -> None:
    b = torch.tensor([KNOWN["cxcywh"]], dtype=dtype)
    for out_fmt in ("xyxy", "xywh"):
        out = box_convert(b, "cxcywh", out_fmt)
        assert isinstance(out, torch.Tensor) and out.dtype == dtype
        assert out.tolist() == [KNOWN[out_fmt]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_array_keeps_its_dtype(dtype: type) -> None:
    b = np.array([KNOWN["xywh"]], dtype=dtype)
    for out_fmt in ("xyxy", "cxcywh"):
        out = box_convert(b, "xywh", out_fmt)
        assert isinstance(out, np.ndarray) and out.dtype == dtype
        assert out.tolist() == [KNOWN[out_fmt]]


def test_integer_boxes() -> None:
    """Integers stay integers between corners and corner + size; halving makes them floating."""
    a = np.array([[10, 20, 50, 80]], np.int64)
    assert box_convert(a, "xyxy", "xywh").dtype == np.int64
    assert box_convert(a, "xyxy", "xywh").tolist() == [[10, 20, 40, 60]]
    assert box_convert(np.array([[0, 0, 3, 5]]), "xyxy", "cxcywh").tolist() == [[1.5, 2.5, 3.0, 5.0]]
    t = torch.tensor([[10, 20, 40, 60]])
    assert box_convert(t, "xywh", "xyxy").dtype == torch.int64
    assert box_convert(t, "xywh", "cxcywh").dtype == torch.get_default_dtype()


@pytest.mark.parametrize("shape", [(), (7,), (2, 3, 5)])
@pytest.mark.parametrize("in_fmt, out_fmt", PAIRS)
def test_leading_batch_shapes(shape: tuple[int, ...], in_fmt: str, out_fmt: str) -> None:
    """(..., 4): any leading shape, converted box by box (equal to converting the flattened boxes)."""
    b = _in_format(_random_xyxy(shape, seed=6), in_fmt)
    out = box_convert(b, in_fmt, out_fmt)
    assert out.shape == (*shape, 4)
    flat = box_convert(b.reshape(-1, 4), in_fmt, out_fmt)
    assert np.array_equal(out.reshape(-1, 4), flat)
    tout = box_convert(torch.from_numpy(b), in_fmt, out_fmt)
    assert tout.shape == (*shape, 4) and np.array_equal(tout.numpy(), out)


def test_no_boxes() -> None:
    assert box_convert(np.zeros((0, 4)), "xyxy", "cxcywh").shape == (0, 4)
    assert box_convert(torch.zeros(2, 0, 4), "cxcywh", "xywh").shape == (2, 0, 4)


def test_same_format_is_a_copy() -> None:
    a = np.array([KNOWN["xyxy"]])
    out = box_convert(a, "xyxy", "xyxy")
    out[0, 0] = -1
    assert a[0, 0] == 10.0
    t = torch.tensor([KNOWN["xyxy"]])
    tout = box_convert(t, "xyxy", "xyxy")
    tout[0, 0] = -1
    assert t[0, 0] == 10.0


def test_gradients_flow() -> None:
    b = torch.tensor([KNOWN["cxcywh"]], requires_grad=True)
    box_convert(b, "cxcywh", "xyxy").sum().backward()
    # x1 + x2 = 2 cx, and w cancels out: d/dcx = 2, d/dw = 0
    assert b.grad.tolist() == [[2.0, 2.0, 0.0, 0.0]]


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("in_fmt, out_fmt", [("xyxy", "xywhr"), ("cxcy", "xyxy"), ("XYXY", "xywh"), ("", "xyxy")])
def test_an_unknown_format_is_an_error(in_fmt: str, out_fmt: str) -> None:
    bad = out_fmt if in_fmt in BOX_FORMATS else in_fmt
    with pytest.raises(ValueError, match=rf"box format {bad!r}: choose one of xyxy, xywh, cxcywh"):
        box_convert(np.zeros((1, 4)), in_fmt, out_fmt)


@pytest.mark.parametrize("boxes", [np.zeros((3, 5)), torch.zeros(2, 3), np.zeros(()), torch.tensor(1.0)])
def test_a_last_dimension_other_than_4_is_an_error(boxes: np.ndarray | torch.Tensor) -> None:
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 4\)"):
        box_convert(boxes, "xyxy", "xywh")


def test_a_list_is_an_error() -> None:
    with pytest.raises(TypeError, match="torch tensor or a NumPy array"):
        box_convert([[0.0, 0.0, 1.0, 1.0]], "xyxy", "xywh")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- the letterbox's box mappings
def test_letterbox_xyxy_known_values() -> None:
    """768x576 into 416: resized to 416x312, pasted at (0, 52); the whole image covers exactly that."""
    out = letterbox_xyxy(np.array([[0.0, 0.0, 768.0, 576.0], [384.0, 288.0, 384.0, 288.0]]), 768, 576, 416, 416)
    np.testing.assert_allclose(out, [[0.0, 52 / 416, 1.0, 364 / 416], [0.5, 0.5, 0.5, 0.5]], rtol=0, atol=1e-15)


def test_letterbox_xyxy_keeps_the_kind() -> None:
    a = np.array([[10.0, 20.0, 50.0, 80.0]])
    t = torch.tensor([[10.0, 20.0, 50.0, 80.0]], dtype=torch.float64)
    out_a, out_t = letterbox_xyxy(a, 773, 512, 416, 416), letterbox_xyxy(t, 773, 512, 416, 416)
    assert isinstance(out_a, np.ndarray) and out_a.dtype == np.float64
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float64
    assert np.array_equal(out_a, out_t.numpy())
    assert out_a.shape == (1, 4)


@pytest.mark.parametrize("w, h, net", [(768, 576, 416), (576, 768, 416), (640, 480, 320), (100, 100, 320),
                                       (500, 375, 416)])
def test_letterbox_round_trip_even_padding(w: int, h: int, net: int) -> None:
    """Forward then inverse gives the boxes back (the paste offset is a whole pixel: nothing is rounded)."""
    new_w, new_h = letterbox_size(w, h, net, net)
    assert (net - new_w) % 2 == 0 and (net - new_h) % 2 == 0
    rng = np.random.default_rng(7)
    xy1 = rng.uniform(0, [w * 0.8, h * 0.8], (50, 2))
    b_xyxy_px = np.concatenate([xy1, xy1 + rng.uniform(1, [w * 0.2, h * 0.2], (50, 2))], 1)
    norm_cxcywh = box_convert(letterbox_xyxy(b_xyxy_px, w, h, net, net), "xyxy", "cxcywh")
    back_xyxy = box_convert(unletterbox_cxcywh(torch.from_numpy(norm_cxcywh), w, h, net, net), "cxcywh", "xyxy")
    assert back_xyxy.dtype == torch.float64
    np.testing.assert_allclose(back_xyxy.numpy(), b_xyxy_px, atol=2e-3 * max(w, h) / 416)


@pytest.mark.parametrize("w, h, net", [(773, 512, 416), (512, 773, 416), (1000, 335, 320)])
def test_letterbox_round_trip_odd_padding_is_half_a_pixel_off(w: int, h: int, net: int) -> None:
    """Where ``net - new`` is odd, the forward pastes at ``(net - new) // 2`` and the inverse (darknet's
    ``correct_region_boxes``) assumes ``(net - new) / 2``: the centre comes back half a net-input pixel early,
    ``0.5 * image / new`` image pixels; sizes come back unchanged."""
    new_w, new_h = letterbox_size(w, h, net, net)
    odd_x, odd_y = (net - new_w) % 2, (net - new_h) % 2
    assert odd_x or odd_y
    b_xyxy_px = np.array([[10.0, 20.0, 110.0, 220.0], [w / 4, h / 3, w / 2, h / 2]])
    norm_cxcywh = box_convert(letterbox_xyxy(b_xyxy_px, w, h, net, net), "xyxy", "cxcywh")
    back = unletterbox_cxcywh(torch.from_numpy(norm_cxcywh), w, h, net, net).numpy()
    want = box_convert(b_xyxy_px, "xyxy", "cxcywh") - [0.5 * odd_x * w / new_w, 0.5 * odd_y * h / new_h, 0, 0]
    np.testing.assert_allclose(back, want, atol=1e-3)
