"""Image and video sources: decoding to RGB uint8, expanding folders/globs/lists, one-line errors."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from yolo9000.errors import Yolo9000Error
from yolo9000.predict.sources import (
    as_rgb_array, count_frames, expand, iter_frames, load_image, video_frame_count,
)

# RGB colours of the test video's frames, in order
VIDEO_COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)]
VIDEO_W, VIDEO_H = 64, 48


def assert_one_line_error(excinfo: pytest.ExceptionInfo, path: str | Path) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg and "\r" not in msg, msg
    assert str(path) in msg, msg
    return msg


def pattern(h: int = 6, w: int = 8) -> np.ndarray:
    """A small RGB image whose every pixel differs from its neighbours."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 30 % 256, y * 40 % 256, (x * 7 + y * 11) % 256], axis=2).astype(np.uint8)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    import cv2

    path = tmp_path_factory.mktemp("video") / "colours.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (VIDEO_W, VIDEO_H))
    assert writer.isOpened(), "OpenCV cannot write mp4v"
    for rgb in VIDEO_COLOURS:
        frame = np.empty((VIDEO_H, VIDEO_W, 3), np.uint8)
        frame[:] = rgb[::-1]  # OpenCV writes BGR
        writer.write(frame)
    writer.release()
    return path


# ---------------------------------------------------------------- load_image: good files


def test_load_png_exact(tmp_path):
    img = pattern()
    p = tmp_path / "p.png"
    Image.fromarray(img).save(p)
    out = load_image(p)
    assert out.dtype == np.uint8 and out.shape == (6, 8, 3)
    np.testing.assert_array_equal(out, img)


def test_load_jpeg_solid_colours(tmp_path):
    img = np.zeros((16, 32, 3), np.uint8)
    img[:, :16] = (200, 30, 60)
    img[:, 16:] = (10, 220, 120)
    p = tmp_path / "c.jpg"
    Image.fromarray(img).save(p, quality=95)
    out = load_image(str(p))  # str paths too
    assert out.dtype == np.uint8 and out.shape == (16, 32, 3)
    # JPEG is lossy: compare away from the colour edge within a few levels
    assert np.abs(out[:, :12].astype(int) - (200, 30, 60)).max() <= 4
    assert np.abs(out[:, 20:].astype(int) - (10, 220, 120)).max() <= 4


def test_load_reference_jpeg(reference_dir):
    out = load_image(reference_dir / "images" / "dog.jpg")
    assert out.shape == (576, 768, 3) and out.dtype == np.uint8
    # the reference decode (stb_image) and Pillow's libjpeg agree to a few levels on average
    ref = np.load(reference_dir / "cases" / "yolov2-tiny-voc_416_dog" / "image_u8.npy")
    assert np.abs(out.astype(int) - ref.astype(int)).mean() < 2.0


def test_greyscale_becomes_three_equal_channels(tmp_path):
    grey = (np.arange(5 * 7).reshape(5, 7) * 7 % 256).astype(np.uint8)
    p = tmp_path / "g.png"
    Image.fromarray(grey, mode="L").save(p)
    out = load_image(p)
    assert out.shape == (5, 7, 3) and out.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], grey)


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_16bit_greyscale_keeps_high_byte(tmp_path, ext):
    grey16 = (np.arange(4 * 6).reshape(4, 6) * 2731 + 37).astype(np.uint16)
    p = tmp_path / f"g16.{ext}"
    Image.fromarray(grey16).save(p)
    with Image.open(p) as check:
        assert check.mode.startswith("I;16")
    out = load_image(p)
    assert out.shape == (4, 6, 3) and out.dtype == np.uint8
    # as darknet's stb_image: 16-bit samples become their high byte (not saturated to 255)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], (grey16 >> 8).astype(np.uint8))


def test_16bit_greyscale_dark_values_stay_dark(tmp_path):
    """I;16 is scaled by its type's range whatever the values: 0..255 in 16 bits is nearly black."""
    p = tmp_path / "dark16.png"
    Image.fromarray(np.array([[0, 255, 256, 65535]], np.uint16)).save(p)
    assert load_image(p)[0, :, 0].tolist() == [0, 0, 1, 255]


@pytest.mark.parametrize("values, expect", [
    ([0.0, 0.25, 0.5, 1.0], [0, 64, 128, 255]),         # 0..1: x 255, rounded (63.75 -> 64, 127.5 -> 128)
    ([0.0, 2.0, 100.4, 255.0], [0, 2, 100, 255]),       # 0..255: as they are
    ([-1.0, 0.0, 1.0, 3.0], [0, 64, 128, 255]),         # anything else: its min..max over 0..255
    ([5.0, 5.0, 5.0, 5.0], [5, 5, 5, 5]),
    ([1000.0, 1000.0, 1000.0, 1000.0], [0, 0, 0, 0]),   # one value beyond 255: no range to stretch
])
def test_float_greyscale_tiff_is_scaled(tmp_path, values, expect):
    p = tmp_path / "f.tif"
    Image.fromarray(np.array([values], np.float32), mode="F").save(p)
    with Image.open(p) as check:
        assert check.mode == "F"
    out = load_image(p)
    assert out.shape == (1, 4, 3) and out.dtype == np.uint8
    assert out[0, :, 0].tolist() == expect and np.array_equal(out[:, :, 0], out[:, :, 2])


@pytest.mark.parametrize("values, expect", [
    ([0, 7, 255], [0, 7, 255]),                          # 8-bit values in a 32-bit image: as they are
    ([0, 256, 65535], [0, 1, 255]),                      # 16-bit values: the high byte, as I;16
    ([-10, 0, 70000], [0, 0, 255]),                      # anything else: min..max (10 / 70010 * 255 = 0.04)
])
def test_32bit_integer_greyscale_is_scaled(tmp_path, values, expect):
    p = tmp_path / "i.tif"
    Image.fromarray(np.array([values], np.int32)).save(p)
    with Image.open(p) as check:
        assert check.mode == "I"
    assert load_image(p)[0, :, 0].tolist() == expect


def test_float_image_with_nan_is_one_line(tmp_path):
    p = tmp_path / "nan.tif"
    Image.fromarray(np.array([[0.5, np.nan]], np.float32), mode="F").save(p)
    with pytest.raises(Yolo9000Error) as e:
        load_image(p)
    assert str(e.value) == f"{p}: a floating-point image holding NaN or infinite values"


def test_pil_float_image_in_memory_is_scaled():
    im = Image.fromarray(np.array([[0.0, 1.0]], np.float32), mode="F")
    assert as_rgb_array(im)[0].tolist() == [[0, 0, 0], [255, 255, 255]]


@pytest.mark.parametrize("ext", ["png", "gif", "bmp"])
def test_palette_image_gives_palette_colours(tmp_path, ext):
    palette = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (12, 34, 56)]
    idx = np.array([[0, 1, 2, 3], [3, 2, 1, 0]], np.uint8)
    im = Image.fromarray(idx, mode="P")
    im.putpalette([v for rgb in palette for v in rgb] + [0] * (768 - 12))
    p = tmp_path / f"pal.{ext}"
    im.save(p)
    with Image.open(p) as check:
        assert check.mode == "P"  # the file really is a palette image
    out = load_image(p)
    assert out.shape == (2, 4, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.array(palette, np.uint8)[idx])


def test_rgba_drops_alpha_keeps_colour(tmp_path):
    rgb = pattern(4, 5)
    alpha = np.array([0, 64, 128, 255, 7], np.uint8)[None, :].repeat(4, axis=0)
    p = tmp_path / "a.png"
    Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA").save(p)
    out = load_image(p)
    assert out.shape == (4, 5, 3)
    # as darknet (stb_image with 3 channels): alpha is discarded, colour is not blended
    np.testing.assert_array_equal(out, rgb)


def test_cmyk_converted_to_rgb(tmp_path):
    cmyk = np.array([[[0, 0, 0, 0], [255, 0, 0, 0], [0, 255, 0, 0]],
                     [[0, 0, 255, 0], [0, 0, 0, 255], [255, 255, 0, 0]]], np.uint8)
    p = tmp_path / "k.tif"
    Image.fromarray(cmyk, mode="CMYK").save(p)
    with Image.open(p) as check:
        assert check.mode == "CMYK"
    out = load_image(p)
    expected = np.array([[[255, 255, 255], [0, 255, 255], [255, 0, 255]],
                         [[255, 255, 0], [0, 0, 0], [0, 0, 255]]], np.uint8)
    np.testing.assert_array_equal(out, expected)


# ---------------------------------------------------------------- load_image: bad files


def test_missing_file(tmp_path):
    p = tmp_path / "nope.jpg"
    with pytest.raises(Yolo9000Error) as e:
        load_image(p)
    assert "no such" in assert_one_line_error(e, p)


def test_directory_is_not_an_image(tmp_path):
    d = tmp_path / "folder.jpg"
    d.mkdir()
    with pytest.raises(Yolo9000Error) as e:
        load_image(d)
    assert "not a file" in assert_one_line_error(e, d)


@pytest.mark.parametrize("name", ["notes.txt", "fake.jpg"])
def test_text_file_is_not_an_image(tmp_path, name):
    p = tmp_path / name
    p.write_text("this is not an image\nsecond line\n")
    with pytest.raises(Yolo9000Error) as e:
        load_image(p)
    assert "not an image" in assert_one_line_error(e, p)


@pytest.mark.parametrize("keep", [0.3, 0.9, 0.99])
def test_truncated_jpeg(tmp_path, reference_dir, keep):
    data = (reference_dir / "images" / "dog.jpg").read_bytes()
    p = tmp_path / "truncated.jpg"
    p.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(Yolo9000Error) as e:
        load_image(p)
    assert "corrupt" in assert_one_line_error(e, p)


def test_corrupt_png_body(tmp_path):
    p = tmp_path / "bad.png"
    Image.fromarray(pattern(32, 32)).save(p)
    data = bytearray(p.read_bytes())
    data[60:90] = b"\xff" * 30  # inside the IDAT chunk: CRC and zlib stream broken
    p.write_bytes(bytes(data))
    with pytest.raises(Yolo9000Error) as e:
        load_image(p)
    assert_one_line_error(e, p)


# ---------------------------------------------------------------- expand


@pytest.fixture
def image_folder(tmp_path) -> Path:
    d = tmp_path / "imgs"
    d.mkdir()
    Image.fromarray(pattern()).save(d / "b.png")
    Image.fromarray(pattern()).save(d / "a.jpg")
    Image.fromarray(pattern()).save(d / "c.JPEG")
    (d / "notes.txt").write_text("not an image")
    (d / "labels.json").write_text("[]")
    (d / "sub").mkdir()
    Image.fromarray(pattern()).save(d / "sub" / "nested.jpg")
    return d


def test_expand_folder_sorted_images_only(image_folder):
    items = expand(image_folder)
    assert [Path(i).name for i in items] == ["a.jpg", "b.png", "c.JPEG"]
    assert all(Path(i).parent == image_folder for i in items)


def test_expand_folder_keeps_videos(image_folder, video):
    shutil.copy(video, image_folder / "clip.mp4")
    assert [Path(i).name for i in expand(str(image_folder))] == ["a.jpg", "b.png", "c.JPEG", "clip.mp4"]


def test_expand_glob(image_folder):
    assert [Path(i).name for i in expand(str(image_folder / "*.png"))] == ["b.png"]
    assert [Path(i).name for i in expand(str(image_folder / "[ab].*"))] == ["a.jpg", "b.png"]
    nested = expand(str(image_folder / "**" / "*.jpg"))
    assert sorted(Path(i).name for i in nested) == ["a.jpg", "nested.jpg"]


def test_expand_list_flattens_in_order(image_folder):
    arr = pattern()
    pil = Image.fromarray(arr)
    items = expand([image_folder / "b.png", image_folder, pil, arr])
    assert [Path(i).name for i in items[:4]] == ["b.png", "a.jpg", "b.png", "c.JPEG"]
    assert items[4] is pil and items[5] is arr
    assert len(items) == 6


def test_expand_single_file_and_objects(image_folder):
    assert expand(image_folder / "a.jpg") == [image_folder / "a.jpg"]
    arr = pattern()
    assert expand(arr)[0] is arr


def test_expand_glob_without_match(tmp_path):
    pat = str(tmp_path / "*.jpg")
    with pytest.raises(Yolo9000Error) as e:
        expand(pat)
    assert "matches no files" in assert_one_line_error(e, pat)


def test_expand_empty_folder(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    (d / "readme.txt").write_text("no images here")
    with pytest.raises(Yolo9000Error) as e:
        expand(d)
    assert_one_line_error(e, d)


def test_expand_missing_path(tmp_path):
    p = tmp_path / "missing.jpg"
    with pytest.raises(Yolo9000Error) as e:
        expand(p)
    assert_one_line_error(e, p)


@pytest.mark.parametrize("bad", [4.2, object(), True])
def test_expand_unsupported_type(bad):
    with pytest.raises(Yolo9000Error, match="unsupported source type"):
        expand(bad)  # (an int is a camera index: see test_sources_net.py)


# ---------------------------------------------------------------- iter_frames: images and arrays


def test_iter_frames_images_and_arrays(image_folder):
    arr = pattern()
    frames = list(iter_frames(expand([image_folder / "b.png", arr, Image.fromarray(arr).convert("L")])))
    assert len(frames) == 3
    assert frames[0].path == str(image_folder / "b.png") and frames[0].frame is None
    np.testing.assert_array_equal(frames[0].image, arr)
    np.testing.assert_array_equal(frames[1].image, arr)
    assert frames[1].path == "image1"
    grey = frames[2].image
    assert grey.shape == (6, 8, 3) and (grey[:, :, 0] == grey[:, :, 2]).all()


def test_iter_frames_pil_image_keeps_filename(image_folder):
    with Image.open(image_folder / "b.png") as im:
        (frame,) = list(iter_frames([im]))
    assert frame.path == str(image_folder / "b.png")
    np.testing.assert_array_equal(frame.image, pattern())


def test_iter_frames_error_names_bad_file(image_folder):
    bad = image_folder / "d.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    frames = iter_frames(expand(image_folder))
    good = [next(frames) for _ in range(3)]
    assert [Path(f.path).name for f in good] == ["a.jpg", "b.png", "c.JPEG"]
    with pytest.raises(Yolo9000Error) as e:
        next(frames)
    assert_one_line_error(e, bad)


# ---------------------------------------------------------------- video


def test_video_frames_count_index_and_rgb_order(video):
    assert video_frame_count(video) == len(VIDEO_COLOURS)
    assert count_frames(expand(video)) == len(VIDEO_COLOURS)
    frames = list(iter_frames(expand(video)))
    assert [f.frame for f in frames] == list(range(len(VIDEO_COLOURS)))
    assert all(f.path == str(video) for f in frames)
    for f, rgb in zip(frames, VIDEO_COLOURS):
        assert f.image.shape == (VIDEO_H, VIDEO_W, 3) and f.image.dtype == np.uint8
        assert f.image.flags.c_contiguous
        mean = f.image.reshape(-1, 3).mean(axis=0)
        # codec tolerance: a few levels; a BGR/RGB swap would be off by ~255 on red and blue
        np.testing.assert_allclose(mean, rgb, atol=12)
    red = frames[0].image.reshape(-1, 3).mean(axis=0)
    assert red[0] > 200 and red[1] < 40 and red[2] < 40


def test_video_mixed_with_images(video, image_folder):
    frames = list(iter_frames(expand([image_folder / "a.jpg", video, image_folder / "b.png"])))
    assert [f.frame for f in frames] == [None, 0, 1, 2, 3, 4, None]
    assert frames[-1].path.endswith("b.png")
    assert count_frames(expand([image_folder / "a.jpg", video, image_folder / "b.png"])) == 7


@pytest.mark.parametrize("content", ["random", "empty", "text"])
def test_corrupt_video(tmp_path, content):
    p = tmp_path / "broken.mp4"
    data = {"random": np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
            "empty": b"", "text": b"definitely not a video\n" * 20}[content]
    p.write_bytes(data)
    with pytest.raises(Yolo9000Error) as e:
        list(iter_frames(expand(p)))
    assert_one_line_error(e, p)


def test_missing_video(tmp_path):
    p = tmp_path / "missing.mp4"
    with pytest.raises(Yolo9000Error) as e:
        list(iter_frames([p]))
    assert_one_line_error(e, p)


# ---------------------------------------------------------------- as_rgb_array


def test_as_rgb_array_accepts_uint8_and_pil():
    arr = pattern()
    np.testing.assert_array_equal(as_rgb_array(arr), arr)
    np.testing.assert_array_equal(as_rgb_array(Image.fromarray(arr)), arr)
    grey = arr[:, :, 0]
    out = as_rgb_array(grey)
    assert out.shape == (6, 8, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], grey)
    rgba = Image.fromarray(np.dstack([arr, np.full(arr.shape[:2], 9, np.uint8)]), mode="RGBA")
    np.testing.assert_array_equal(as_rgb_array(rgba), arr)


def test_as_rgb_array_negative_stride_view_is_usable():
    bgr = pattern()
    view = bgr[:, :, ::-1]
    out = as_rgb_array(view)
    np.testing.assert_array_equal(out, view)
    t = torch.as_tensor(out)  # torch refuses negative strides; the array must be usable as is
    assert tuple(t.shape) == (6, 8, 3)


@pytest.mark.parametrize("bad", [
    np.zeros((6, 8, 3), np.float32),
    np.zeros((6, 8, 3), np.float64) + 0.5,
    np.zeros((6, 8, 3), np.int64),
    np.zeros((6, 8), np.float32),
    np.zeros((6, 8, 4), np.uint8),
    np.zeros((6, 8, 1), np.uint8),
    np.zeros((3, 6, 8), np.uint8),
    np.zeros((0, 8, 3), np.uint8),
    np.zeros((24,), np.uint8),
    np.zeros((1, 6, 8, 3), np.uint8),
])
def test_as_rgb_array_rejects(bad):
    with pytest.raises(Yolo9000Error) as e:
        as_rgb_array(bad, label="myarray")
    assert_one_line_error(e, "myarray")


def test_iter_frames_rejects_float_array():
    with pytest.raises(Yolo9000Error) as e:
        list(iter_frames(expand(np.zeros((4, 4, 3), np.float32))))
    assert_one_line_error(e, "image0")


def test_prefetch_keeps_order_bounds_memory_and_raises_in_place(tmp_path, monkeypatch) -> None:
    import threading

    from yolo9000.predict import sources
    from yolo9000.errors import Yolo9000Error

    paths = []
    for i in range(30):
        p = tmp_path / f"{i:02d}.png"
        Image.fromarray(np.full((8, 8, 3), i, np.uint8)).save(p)
        paths.append(p)
    started: list[int] = []
    lock = threading.Lock()
    real = sources.load_image

    def counting(path, **kwargs):
        with lock:
            started.append(int(Path(path).stem))
        return real(path, **kwargs)

    monkeypatch.setattr(sources, "load_image", counting)
    gen = sources.prefetch_frames(paths, workers=2, ahead=4)
    first = next(gen)
    assert first.path == str(paths[0]) and int(first.image[0, 0, 0]) == 0
    assert len(started) <= 1 + 4  # never more than `ahead` images decoded ahead of the consumer
    rest = list(gen)
    assert [int(f.image[0, 0, 0]) for f in [first, *rest]] == list(range(30))
    (tmp_path / "05.png").write_bytes(b"broken")
    got = []
    with pytest.raises(Yolo9000Error, match="05.png"):
        for f in sources.prefetch_frames(paths, workers=2, ahead=4):
            got.append(f.path)
    assert got == [str(p) for p in paths[:5]]  # the frames before the broken one arrive first
    assert [f.path for f in sources.prefetch_frames(paths[:3], workers=0)] == [str(p) for p in paths[:3]]


# ---------------------------------------------------------------- EXIF orientation


def exif_jpeg(path: Path, orientation: int, h: int = 30, w: int = 50) -> Path:
    """A JPEG whose EXIF orientation tag (0x0112) is ``orientation``; its stored pixels are (h, w)."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // w, y * 255 // h, np.full_like(x, 90)], axis=2).astype(np.uint8)
    img[: h // 3, : w // 3] = (250, 20, 20)  # a red corner, to see where the top-left went
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(img).save(path, quality=95, exif=exif)
    return path


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_only_when_asked(tmp_path, orientation):
    from PIL import ImageOps

    p = exif_jpeg(tmp_path / f"o{orientation}.jpg", orientation)
    with Image.open(p) as im:
        assert im.getexif()[0x0112] == orientation
        stored = np.array(im.convert("RGB"))
        upright = np.array(ImageOps.exif_transpose(im).convert("RGB"))
    np.testing.assert_array_equal(load_image(p), stored)  # the default: darknet's decode, no rotation
    np.testing.assert_array_equal(load_image(p, exif=False), stored)
    turned = load_image(p, exif=True)
    np.testing.assert_array_equal(turned, upright)
    assert turned.shape == ((50, 30, 3) if orientation >= 5 else (30, 50, 3))
    if orientation == 6:  # "rotate 90 clockwise to display"
        np.testing.assert_array_equal(turned, np.rot90(stored, -1))


@pytest.mark.filterwarnings("ignore::UserWarning")  # random weights, on purpose
def test_predict_applies_exif_by_default_and_not_with_exif_false(tmp_path, capsys):
    from PIL import ImageOps

    from yolo9000.api import YOLO
    from yolo9000.cli.app import main

    p = exif_jpeg(tmp_path / "phone.jpg", 6, h=64, w=96)
    with Image.open(p) as im:
        upright = np.array(ImageOps.exif_transpose(im).convert("RGB"))
        stored = np.array(im.convert("RGB"))
    torch.manual_seed(0)
    yolo = YOLO("yolov2-nano", device="cpu")
    (r,) = yolo.predict(p, imgsz=64)
    (raw,) = yolo.predict(p, imgsz=64, exif=False)
    assert r.orig_shape == (96, 64) and raw.orig_shape == (64, 96)
    np.testing.assert_array_equal(r.orig_img, upright)
    np.testing.assert_array_equal(raw.orig_img, stored)
    with Image.open(p) as im:  # a PIL image from the file is turned the same way
        (r_pil,) = yolo.predict(im, imgsz=64)
        (raw_pil,) = yolo.predict(im, imgsz=64, exif=False)
    np.testing.assert_array_equal(r_pil.orig_img, upright)
    np.testing.assert_array_equal(raw_pil.orig_img, stored)
    arr = yolo.predict(stored, imgsz=64)[0]  # arrays are never rotated
    assert arr.orig_shape == (64, 96)
    # the CLI: annotated copies upright by default, as stored with --no-exif
    sizes = {}
    for flag in ([], ["--no-exif"]):
        out = tmp_path / ("raw" if flag else "upright")
        argv = ["predict", str(p), "--model", "yolov2-nano", "--imgsz", "64", "--device", "cpu", "--quiet",
                "--save-dir", str(out), *flag]
        assert main(argv) == 0, capsys.readouterr().err
        with Image.open(out / "phone.jpg") as im:
            sizes[bool(flag)] = im.size
    assert sizes == {False: (64, 96), True: (96, 64)}
