"""Results under Ultralytics' names: Boxes, one meaning per box-format name, indexing a Results as a whole,
plot, save_txt, save_crop, summary/to_json; the CLI's --save-txt / --save-conf / --save-crop / --classes /
--max-det (predict's own classes and max_det: test_predictor.py)."""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from yolo9000 import YOLO, Results, Yolo9000Error
from yolo9000.cli.app import main
from yolo9000.errors import UsageError
from yolo9000.predict.results import Boxes

NAMES = ("cat", "dog", "bus")
H, W = 100, 200  # orig_shape of the hand-made results
XYXY = [[10.0, 20.0, 50.0, 60.0],      # inside
        [0.0, 0.0, 200.0, 100.0],      # the whole image
        [-10.0, 90.0, 30.0, 110.0],    # past the left and bottom borders
        [12.25, 33.5, 47.75, 71.125]]  # fractional corners
SCORES = [0.9, 0.8, 0.5, 0.25]
CLASS_IDS = [1, 0, 1, 2]


def hand_result(image: np.ndarray | None = None, xyxy=XYXY, scores=SCORES, class_ids=CLASS_IDS) -> Results:
    return Results(torch.tensor(xyxy, dtype=torch.float32).reshape(-1, 4), torch.tensor(scores, dtype=torch.float32),
                   torch.tensor(class_ids, dtype=torch.int64), NAMES, "pics/street.jpg", (H, W), orig_img=image)


def noise_image(h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def classifier_result() -> Results:
    probs = torch.tensor([0.1, 0.6, 0.3])
    empty = torch.zeros(0, dtype=torch.int64)
    return Results(torch.zeros(0, 4), torch.zeros(0), empty, NAMES, "x.jpg", (H, W), probs=probs,
                   orig_img=noise_image())


def read_rows(path: Path) -> list[list[float]]:
    return [[float(v) for v in line.split()] for line in path.read_text().splitlines()]


# ---------------------------------------------------------------- Boxes


def test_boxes_fields_equal_hand_computed_values():
    b = hand_result().boxes
    assert isinstance(b, Boxes) and len(b) == 4 and b.shape == (4, 6) and b.orig_shape == (H, W)
    assert torch.equal(b.xyxy, torch.tensor(XYXY))
    assert torch.equal(b.conf, torch.tensor(SCORES)) and b.cls.dtype == torch.int64
    assert b.cls.tolist() == CLASS_IDS
    # centre x, centre y, width, height in pixels (Ultralytics' xywh)
    expect_xywh = [[30, 40, 40, 40], [100, 50, 200, 100], [10, 100, 40, 20], [30, 52.3125, 35.5, 37.625]]
    assert torch.allclose(b.xywh, torch.tensor(expect_xywh), atol=1e-6)
    expect_xyxyn = [[0.05, 0.2, 0.25, 0.6], [0, 0, 1, 1], [-0.05, 0.9, 0.15, 1.1],
                    [12.25 / W, 33.5 / H, 47.75 / W, 71.125 / H]]
    assert torch.allclose(b.xyxyn, torch.tensor(expect_xyxyn), atol=1e-7)  # not clipped: -0.05 and 1.1 stay
    expect_xywhn = [[0.15, 0.4, 0.2, 0.4], [0.5, 0.5, 1, 1], [0.05, 1.0, 0.2, 0.2],
                    [30 / W, 52.3125 / H, 35.5 / W, 37.625 / H]]
    assert torch.allclose(b.xywhn, torch.tensor(expect_xywhn), atol=1e-7)
    assert b.data.dtype == torch.float32
    assert torch.equal(b.data, torch.tensor([[*x, s, float(c)] for x, s, c in zip(XYXY, SCORES, CLASS_IDS)]))
    assert b.id is None and b.is_track is False


def test_our_own_names_are_unchanged():
    r = hand_result()
    assert torch.equal(r.boxes.xyxy, r.xyxy) and torch.equal(r.boxes.conf, r.scores)
    assert torch.equal(r.boxes.cls, r.class_ids)
    assert r.class_names == ["dog", "cat", "dog", "bus"]
    assert r.xywh_coco[0].tolist() == [10, 20, 40, 40]  # COCO's corner form, x1, y1, w, h
    assert r.cxcywh[0].tolist() == [30, 40, 40, 40] == r.boxes.xywh[0].tolist()


# ---------------------------------------------------------------- one meaning per box-format name


def test_centre_form_has_one_name_on_results_and_boxes():
    r = hand_result()
    expect = [[30, 40, 40, 40], [100, 50, 200, 100], [10, 100, 40, 20], [30, 52.3125, 35.5, 37.625]]
    assert torch.equal(r.cxcywh, r.boxes.xywh)
    assert torch.allclose(r.cxcywh, torch.tensor(expect), atol=1e-6)
    expect_coco = [[10, 20, 40, 40], [0, 0, 200, 100], [-10, 90, 40, 20], [12.25, 33.5, 35.5, 37.625]]
    assert torch.allclose(r.xywh_coco, torch.tensor(expect_coco), atol=1e-6)
    assert [rec["bbox"] for rec in r.to_coco(7)] == r.xywh_coco.tolist()  # COCO's JSON takes the corner form


def test_results_xywh_is_deprecated_and_keeps_its_old_meaning():
    """``r.xywh`` was COCO's corner form while ``r.boxes.xywh`` is the centre form: it warns, and never
    silently changes what it returns."""
    r = hand_result()
    with pytest.warns(FutureWarning, match=r"r\.xywh_coco.*r\.boxes\.xywh"):
        old = r.xywh
    assert torch.equal(old, r.xywh_coco)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the package's own writers use the new names
        r.to_coco(1)
        r.to_records()


# ---------------------------------------------------------------- Results index as a whole


def det_result(**kwargs) -> Results:
    """hand_result with darknet prediction indices, a frame, an fps and an image: every field set."""
    r = hand_result(noise_image(), **kwargs)
    return Results(r.xyxy, r.scores, r.class_ids, r.names, r.path, r.orig_shape, frame=3,
                   det_index=torch.arange(10, 10 + len(r), dtype=torch.int64), orig_img=r.orig_img, fps=25.0)


def assert_per_image_fields_kept(part: Results, whole: Results) -> None:
    assert part.names == whole.names and part.path == whole.path and part.orig_shape == whole.orig_shape
    assert part.frame == whole.frame and part.fps == whole.fps and part.error == whole.error
    assert part.orig_img is whole.orig_img and part.probs is None


@pytest.mark.parametrize("index, rows", [
    (0, [0]), (-1, [3]), (np.int64(2), [2]), (torch.tensor(1), [1]), (slice(1, 3), [1, 2]), (slice(None, 2), [0, 1]),
    ([3, 0], [3, 0]), (np.array([3, 0]), [3, 0]), (torch.tensor([2, 2]), [2, 2]),
    ([True, False, True, False], [0, 2]), (np.array([False, True, False, True]), [1, 3]),
    (torch.tensor([True, True, False, False]), [0, 1]), (torch.zeros(4, dtype=torch.bool), []), ([], []),
])
def test_results_index_every_detection_field_together(index, rows):
    r = det_result()
    part = r[index]
    assert isinstance(part, Results) and len(part) == len(rows)
    assert part.xyxy.tolist() == [XYXY[i] for i in rows] and part.xyxy.shape == (len(rows), 4)
    assert part.scores.tolist() == pytest.approx([SCORES[i] for i in rows])
    assert part.class_ids.tolist() == [CLASS_IDS[i] for i in rows] and part.class_ids.dtype == torch.int64
    assert part.det_index.tolist() == [10 + i for i in rows]
    assert part.class_names == [NAMES[CLASS_IDS[i]] for i in rows]
    assert torch.equal(part.boxes.data, r.boxes[index].data)  # Boxes index the same way
    assert_per_image_fields_kept(part, r)


def test_results_filter_by_a_mask_of_their_own_fields():
    r = det_result()
    sure = r[r.boxes.conf > 0.6]
    assert sure.scores.tolist() == pytest.approx([0.9, 0.8]) and sure.det_index.tolist() == [10, 11]
    dogs = r[r.class_ids == 1]
    assert dogs.xyxy.tolist() == [XYXY[0], XYXY[2]] and dogs.class_names == ["dog", "dog"]
    assert len(r[r.scores > 1]) == 0 and r[r.scores > 1].boxes.xyxy.shape == (0, 4)
    both = r[r.class_ids == 1][1:]  # indexing composes
    assert both.det_index.tolist() == [12] and torch.equal(both.xyxy, r[2].xyxy)
    assert [x.det_index.tolist() for x in r] == [[10], [11], [12], [13]]  # iteration: one Results each
    assert torch.equal(r[1:3].xywh_coco, r.xywh_coco[1:3]) and torch.equal(r[1:3].cxcywh, r.cxcywh[1:3])
    plain = hand_result()  # det_index None stays None
    assert plain[0].det_index is None and len(plain[0]) == 1
    assert len(hand_result()) == 4 and len(hand_result(xyxy=[], scores=[], class_ids=[])) == 0


def test_results_bad_indices():
    r = det_result()
    for bad in (4, -5, torch.tensor(9)):
        with pytest.raises(IndexError, match="out of range"):
            r[bad]
    with pytest.raises(IndexError):
        r[[True, False]]  # a mask of the wrong length
    for bad in (True, (0, 1)):
        with pytest.raises(UsageError, match="index"):
            r[bad]
    with pytest.raises(IndexError):
        Results.unreadable("x.jpg", "x.jpg: corrupt", NAMES)[0]
    assert len(Results.unreadable("x.jpg", "x.jpg: corrupt", NAMES)[[]]) == 0


def test_classifier_result_cannot_be_indexed():
    c = classifier_result()
    assert len(c) == 0
    with pytest.raises(UsageError, match="classifier.*no detections to index.*r.probs"):
        c[0]
    with pytest.raises(UsageError, match="classifier"):
        c[torch.zeros(0, dtype=torch.bool)]
    with pytest.raises(UsageError, match="classifier"):
        list(c)


def test_boxes_index_together_like_ultralytics():
    b = hand_result().boxes
    one = b[0]
    assert one.xyxy.shape == (1, 4) and one.conf.shape == (1,) and one.cls.shape == (1,) and len(one) == 1
    assert one.xyxy.tolist() == [XYXY[0]] and int(one.cls) == 1 and float(one.conf) == pytest.approx(0.9)
    assert b[-1].xyxy.tolist() == [XYXY[3]] and b[torch.tensor(2)].cls.tolist() == [1]
    assert b[1:3].xyxy.tolist() == XYXY[1:3] and b[1:3].cls.tolist() == [0, 1]
    dogs = b[b.cls == 1]
    assert dogs.xyxy.tolist() == [XYXY[0], XYXY[2]] and dogs.conf.tolist() == pytest.approx([0.9, 0.5])
    assert b[[3, 0]].cls.tolist() == [2, 1] and b[np.array([3, 0])].cls.tolist() == [2, 1]
    assert [int(d.cls) for d in b] == CLASS_IDS
    assert torch.equal(b[2].xywhn, b.xywhn[2:3])  # normalised through the same orig_shape
    with pytest.raises(IndexError):
        b[4]
    with pytest.raises(IndexError):
        b[-5]


def test_boxes_cpu_numpy_to():
    b = hand_result().boxes
    assert b.cpu().xyxy.device.type == "cpu"
    n = b.numpy()
    assert isinstance(n.xyxy, np.ndarray) and n.xyxy.dtype == np.float32 and n.cls.dtype == np.int64
    assert np.array_equal(n.data, b.data.numpy()) and np.allclose(n.xywhn, b.xywhn.numpy())
    assert np.array_equal(n.xyxyn, b.xyxyn.numpy()) and np.array_equal(n.xywh, b.xywh.numpy())
    assert n[1].xyxy.tolist() == [XYXY[1]] and n[torch.tensor([True, False, True, False])].cls.tolist() == [1, 1]
    assert n.numpy() is n and n.cpu() is n
    d = b.to(torch.float64)
    assert d.xyxy.dtype == torch.float64 and d.conf.dtype == torch.float64 and d.cls.dtype == torch.int64
    back = n.to("cpu")
    assert isinstance(back.xyxy, torch.Tensor) and torch.equal(back.xyxy, b.xyxy)


def test_boxes_shapes_must_agree():
    with pytest.raises(ValueError, match="must agree"):
        Boxes(torch.zeros(2, 4), torch.zeros(3), torch.zeros(2, dtype=torch.int64), (H, W))


def test_classifier_and_unreadable_boxes():
    assert classifier_result().boxes is None  # as Ultralytics: probs, no boxes
    bad = Results.unreadable("x.jpg", "x.jpg: corrupt", NAMES).boxes
    assert len(bad) == 0 and bad.xyxyn.shape == (0, 4) and bad.data.shape == (0, 6)


# ---------------------------------------------------------------- plot


def test_plot_is_a_new_bgr_array_like_ultralytics():
    img = noise_image()
    before = img.copy()
    r = hand_result(img)
    drawn = np.asarray(r.draw())
    plotted = r.plot()
    assert isinstance(plotted, np.ndarray) and plotted.dtype == np.uint8 and plotted.shape == (H, W, 3)
    assert plotted.flags["C_CONTIGUOUS"]
    assert np.array_equal(plotted, drawn[:, :, ::-1])  # BGR of the RGB drawing
    assert not np.array_equal(plotted[:, :, ::-1], img)  # something was drawn ...
    assert np.array_equal(img, before)  # ... but not on the kept image
    pil = r.plot(pil=True)
    assert isinstance(pil, Image.Image) and np.array_equal(np.asarray(pil), drawn)
    bare = r.plot(labels=False)
    assert not np.array_equal(bare, plotted)
    assert classifier_result().plot().shape == (H, W, 3)
    with pytest.raises(ValueError, match="no image"):
        hand_result().plot()


# ---------------------------------------------------------------- save_txt


def test_save_txt_round_trip(tmp_path):
    r = hand_result()
    out = r.save_txt(tmp_path / "new" / "street.txt")
    assert out == tmp_path / "new" / "street.txt"
    rows = read_rows(out)
    assert [int(row[0]) for row in rows] == CLASS_IDS and all(len(row) == 5 for row in rows)
    lines = out.read_text().splitlines()
    assert all(str(c) == line.split()[0] for c, line in zip(CLASS_IDS, lines))  # ids as integers
    norm = np.array([row[1:] for row in rows])
    assert ((norm >= 0) & (norm <= 1)).all()  # clipped: valid YOLO labels
    cx, cy, w, h = norm.T
    back = np.stack([(cx - w / 2) * W, (cy - h / 2) * H, (cx + w / 2) * W, (cy + h / 2) * H], axis=1)
    assert np.allclose(back, r.xyxy_clipped.numpy(), atol=1e-5, rtol=0)
    inside = [0, 1, 3]  # boxes inside the image come back as they are
    assert np.allclose(back[inside], r.xyxy.numpy()[inside], atol=1e-5, rtol=0)
    assert np.allclose(back[2], [0, 90, 30, 100], atol=1e-5)  # the one past the border, clipped


def test_save_txt_conf_column_and_appends(tmp_path):
    r = hand_result()
    p = tmp_path / "labels.txt"
    r.save_txt(p, save_conf=True)
    rows = read_rows(p)
    assert all(len(row) == 6 for row in rows)
    assert [row[5] for row in rows] == pytest.approx(SCORES, abs=1e-7)
    first = p.read_text()
    hand_result(xyxy=[XYXY[0]], scores=[0.5], class_ids=[2]).save_txt(p)  # appends, as Ultralytics
    text = p.read_text()
    assert text.startswith(first) and text[len(first):].split()[0] == "2" and len(text.splitlines()) == 5
    assert [name.name for name in tmp_path.iterdir()] == ["labels.txt"]  # no temporary file left


def test_save_txt_appends_after_a_line_without_newline(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("1 0.5 0.5 0.1 0.1")
    hand_result(xyxy=[XYXY[0]], scores=[0.5], class_ids=[2]).save_txt(p)
    lines = p.read_text().splitlines()
    assert lines[0] == "1 0.5 0.5 0.1 0.1" and lines[1].split()[0] == "2"


def test_save_txt_nothing_to_write_writes_no_file(tmp_path):
    empty = hand_result(xyxy=[], scores=[], class_ids=[])
    assert empty.save_txt(tmp_path / "e.txt") is None and not (tmp_path / "e.txt").exists()


def test_save_txt_refuses_non_finite_and_keeps_the_file(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("0 0.5 0.5 0.2 0.2\n")
    r = hand_result(xyxy=[XYXY[0], [float("nan"), 1.0, 2.0, 3.0]], scores=[0.9, 0.5], class_ids=[0, 1])
    with pytest.raises(Yolo9000Error, match="non-finite") as e:
        r.save_txt(p)
    assert "\n" not in str(e.value) and "detection 1" in str(e.value)
    assert p.read_text() == "0 0.5 0.5 0.2 0.2\n"
    nan_score = hand_result(xyxy=[XYXY[0]], scores=[float("inf")], class_ids=[0])
    assert nan_score.save_txt(tmp_path / "b.txt") is not None  # the score is not written without save_conf
    with pytest.raises(Yolo9000Error, match="non-finite"):
        nan_score.save_txt(tmp_path / "c.txt", save_conf=True)
    assert not (tmp_path / "c.txt").exists()


def test_save_txt_classifier_top5(tmp_path):
    p = classifier_result().save_txt(tmp_path / "c.txt")
    lines = p.read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["dog", "bus", "cat"]  # top-5 of 3 classes
    assert [float(line.split()[0]) for line in lines] == pytest.approx([0.6, 0.3, 0.1])


# ---------------------------------------------------------------- save_crop


def test_save_crop_pixels_are_the_array_slices(tmp_path):
    img = noise_image()
    r = hand_result(img)
    files = r.save_crop(tmp_path / "crops", file_name="street.png")
    # one per detection, in order; two dogs: unique names in the dog folder
    assert [f.relative_to(tmp_path / "crops").as_posix() for f in files] == [
        "dog/street.png", "cat/street.png", "dog/street_2.png", "bus/street.png"]
    slices = [img[20:60, 10:50], img, img[90:100, 0:30], img[33:72, 12:48]]  # floor / ceil, clipped
    for f, expect in zip(files, slices):
        with Image.open(f) as im:
            assert np.array_equal(np.asarray(im.convert("RGB")), expect), f


def test_save_crop_jpeg_names_and_no_overwrite(tmp_path):
    img = noise_image()
    img[:] = 128  # flat grey survives JPEG almost exactly
    r = hand_result(img)
    (tmp_path / "dog").mkdir()
    (tmp_path / "dog" / "street.jpg").write_bytes(b"earlier")
    files = r.save_crop(tmp_path, file_name="street")  # no image extension: .jpg is appended
    names = [f.relative_to(tmp_path).as_posix() for f in files]
    assert names == ["dog/street_2.jpg", "cat/street.jpg", "dog/street_3.jpg", "bus/street.jpg"]
    assert (tmp_path / "dog" / "street.jpg").read_bytes() == b"earlier"
    with Image.open(files[0]) as im:
        assert im.format == "JPEG" and im.size == (40, 40)
        assert np.abs(np.asarray(im.convert("RGB")).astype(int) - 128).max() <= 2
    files = r.save_crop(tmp_path / "v", file_name="frame.v2")
    assert files[0].name == "frame.v2.jpg"


def test_save_crop_gain_pad_outside_and_errors(tmp_path):
    img = noise_image()
    r = hand_result(img, xyxy=[[40, 40, 60, 50], [300, 10, 320, 20]], scores=[0.9, 0.8], class_ids=[0, 0])
    (f,) = r.save_crop(tmp_path, file_name="a.png", gain=1.5, pad=4)  # the box outside the image: skipped
    with Image.open(f) as im:
        # centre (50, 45), size 20 x 10 -> 34 x 19: columns 33..67, rows floor(35.5)..ceil(54.5)
        assert np.array_equal(np.asarray(im), img[35:55, 33:67])
    with pytest.raises(ValueError, match="bare file name"):
        r.save_crop(tmp_path, file_name="sub/a.jpg")
    with pytest.raises(ValueError, match="gain"):
        r.save_crop(tmp_path, gain=0)
    with pytest.raises(ValueError, match="classifier"):
        classifier_result().save_crop(tmp_path)
    with pytest.raises(ValueError, match="no image"):
        hand_result().save_crop(tmp_path)


def test_save_crop_odd_class_names(tmp_path):
    r = Results(torch.tensor([[0.0, 0.0, 4.0, 4.0]] * 2), torch.tensor([0.9, 0.8]), torch.tensor([0, 1]),
                ("AC/DC", ".."), "x.jpg", (8, 8), orig_img=noise_image(8, 8))
    files = r.save_crop(tmp_path, file_name="x.png")
    assert [f.relative_to(tmp_path).as_posix() for f in files] == ["AC_DC/x.png", "class1/x.png"]


# ---------------------------------------------------------------- summary / to_json


def test_summary_and_to_json():
    r = hand_result()
    s = r.summary()
    assert s[0] == {"name": "dog", "class": 1, "confidence": 0.9, "box": {"x1": 10.0, "y1": 20.0, "x2": 50.0,
                                                                          "y2": 60.0}}
    assert r.summary(normalize=True)[2]["box"] == {"x1": -0.05, "y1": 0.9, "x2": 0.15, "y2": 1.1}
    assert json.loads(r.to_json()) == s
    assert classifier_result().summary() == [{"name": "dog", "class": 1, "confidence": 0.6}]
    bad = hand_result(xyxy=[[0, 0, float("inf"), 1]], scores=[0.5], class_ids=[0])
    with pytest.raises(Yolo9000Error, match=r"non-finite.*\$\[0\]\.box\.x2"):
        bad.to_json()


# ---------------------------------------------------------------- the CLI

IMGSZ = 96  # test_predictor's too
CONF = 0.01  # random weights: low scores, so there are detections


@pytest.fixture(scope="module")
def nano_pt(nano, tmp_path_factory) -> Path:
    return nano.save(tmp_path_factory.mktemp("nano") / "nano.pt")


@pytest.fixture
def pics(tmp_path) -> Path:
    d = tmp_path / "pics"
    d.mkdir()
    for i, name in enumerate(("a.png", "b.jpg")):
        Image.fromarray(noise_image(72, 96, seed=10 + i)).save(d / name, quality=95)
    return d


def cli(capsys, argv: list) -> tuple[int, str]:
    rc = main([str(a) for a in argv])
    _, err = capsys.readouterr()
    return rc, err


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_cli_writes_labels_and_crops_as_the_api(capsys, pics, nano_pt, tmp_path):
    out = tmp_path / "out"
    rc, err = cli(capsys, ["predict", pics, "--model", nano_pt, "--imgsz", IMGSZ, "--conf", CONF, "--quiet",
                           "--device", "cpu", "--save-dir", out, "--save-txt", "--save-conf", "--save-crop",
                           "--classes", 0, 2, 5, "--max-det", 6])
    assert rc == 0, err
    api = YOLO(nano_pt, device="cpu").predict(pics, imgsz=IMGSZ, conf=CONF, classes=[0, 2, 5], max_det=6)
    files = files_under(out)
    assert "a.jpg" in files and "b.jpg" in files  # annotated images as before
    assert not [f for f in files if "partial" in f or f.endswith(".tmp")]
    for r in api:
        stem = Path(r.path).stem
        assert 0 < len(r) <= 6
        rows = read_rows(out / "labels" / f"{stem}.txt")
        assert [int(row[0]) for row in rows] == r.class_ids.tolist()
        assert [row[5] for row in rows] == pytest.approx(r.scores.tolist(), abs=1e-7)
        expect = (tmp_path / f"{stem}.expected.txt")
        r.save_txt(expect, save_conf=True)
        assert (out / "labels" / f"{stem}.txt").read_text() == expect.read_text()
        crops = [f for f in files if f.startswith("crops/") and Path(f).stem.split("_")[0] == stem]
        assert len(crops) == len(r)
        assert {f.split("/")[1] for f in crops} == set(r.class_names)
    assert all(f.endswith(".jpg") for f in files if f.startswith("crops/"))


def test_cli_second_run_refuses_old_files_then_merges_with_exist_ok(capsys, pics, nano_pt, tmp_path):
    out = tmp_path / "out"
    (out / "labels").mkdir(parents=True)
    (out / "labels" / "other.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (out / "labels" / "a.txt").write_text("stale\n")
    argv = ["predict", pics, "--model", nano_pt, "--imgsz", IMGSZ, "--conf", CONF, "--quiet", "--device", "cpu",
            "--save-dir", out, "--save-txt", "--max-det", 2]
    rc, err = cli(capsys, argv)  # a.txt was not written by this run: refused, nothing written
    assert rc == 2 and err.count("\n") == 1, err
    assert f"{out / 'labels' / 'a.txt'}: already exists in --save-dir" in err, err
    assert sorted(files_under(out)) == ["labels/a.txt", "labels/other.txt"]
    assert (out / "labels" / "a.txt").read_text() == "stale\n"

    rc, err = cli(capsys, [*argv, "--exist-ok"])
    assert rc == 0, err
    assert (out / "labels" / "other.txt").read_text() == "0 0.5 0.5 0.1 0.1\n"  # kept
    rows = read_rows(out / "labels" / "a.txt")  # replaced (not appended to), as the annotated images are
    assert len(rows) == 2 and all(len(row) == 5 for row in rows)


def test_cli_video_frames_get_stem_frame_labels(capsys, nano_pt, tmp_path):
    import cv2

    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 5.0, (96, 64))
    assert writer.isOpened()
    for k in range(3):
        writer.write(noise_image(64, 96, seed=20 + k))
    writer.release()
    out = tmp_path / "out"
    rc, err = cli(capsys, ["predict", video, "--model", nano_pt, "--imgsz", IMGSZ, "--conf", CONF, "--quiet",
                           "--device", "cpu", "--save-dir", out, "--save-txt"])
    assert rc == 0, err
    assert [f for f in files_under(out) if f.startswith("labels/")] == [
        "labels/clip_0.txt", "labels/clip_1.txt", "labels/clip_2.txt"]


def test_cli_corrupt_later_input_writes_nothing(capsys, pics, nano_pt, tmp_path):
    (pics / "z.jpg").write_bytes((pics / "b.jpg").read_bytes()[:200])  # truncated: fails after a and b
    out = tmp_path / "out"
    rc, err = cli(capsys, ["predict", pics, "--model", nano_pt, "--imgsz", IMGSZ, "--conf", CONF, "--quiet",
                           "--device", "cpu", "--batch", 1, "--save-dir", out, "--save-txt", "--save-crop"])
    assert rc == 2 and len(err.splitlines()) == 1 and "z.jpg" in err
    assert not out.exists()
    out.mkdir()
    (out / "earlier.txt").write_text("keep")
    rc, err = cli(capsys, ["predict", pics, "--model", nano_pt, "--imgsz", IMGSZ, "--conf", CONF, "--quiet",
                           "--device", "cpu", "--batch", 1, "--save-dir", out, "--save-txt", "--save-crop"])
    assert rc == 2
    assert files_under(out) == ["earlier.txt"] and sorted(p.name for p in out.iterdir()) == ["earlier.txt"]


@pytest.mark.parametrize("extra,words", [
    (["--classes", "20"], "20 out of range"),
    (["--classes", "0", "-2"], "-2 out of range"),
    (["--max-det", "0"], "--max-det 0"),
    (["--save-txt"], "give --save-dir"),
    (["--save-crop"], "give --save-dir"),
    (["--save-dir", "{tmp}/o", "--save-conf"], "give --save-txt"),
])
def test_cli_bad_flags_are_one_line_errors(capsys, pics, nano_pt, tmp_path, extra, words):
    extra = [e.replace("{tmp}", str(tmp_path)) for e in extra]
    rc = main(["predict", str(pics), "--model", str(nano_pt), "--imgsz", str(IMGSZ), "--quiet", "--device", "cpu",
               *extra])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("yolo9000: error: ") and words in lines[0], err
    assert not (tmp_path / "o").exists()


def test_cli_labels_folder_that_is_a_file(capsys, pics, nano_pt, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "labels").write_text("a file")
    rc, err = cli(capsys, ["predict", pics, "--model", nano_pt, "--imgsz", IMGSZ, "--quiet", "--device", "cpu",
                           "--save-dir", out, "--save-txt"])
    assert rc == 2 and len(err.splitlines()) == 1 and "labels" in err and "is a file" in err


def test_cli_save_crop_refused_for_a_classifier(capsys, pics, tmp_path):
    from tests.train.test_classify import SMALL_CLASSIFIER

    cfg = tmp_path / "cls.cfg"
    cfg.write_text(SMALL_CLASSIFIER)
    rc, err = cli(capsys, ["predict", pics, "--model", cfg, "--imgsz", 32, "--quiet", "--device", "cpu",
                           "--save-dir", tmp_path / "o", "--save-crop"])
    assert rc == 2 and len(err.splitlines()) == 1 and "classifier" in err
    rc, err = cli(capsys, ["predict", pics, "--model", cfg, "--imgsz", 32, "--quiet", "--device", "cpu",
                           "--save-dir", tmp_path / "o", "--save-txt"])
    assert rc == 0, err
    lines = (tmp_path / "o" / "labels" / "a.txt").read_text().splitlines()
    assert len(lines) == 2 and {line.split()[1] for line in lines} == {"class0", "class1"}  # top-5 of 2
    assert math.isclose(sum(float(line.split()[0]) for line in lines), 1.0, abs_tol=1e-6)


def test_verbose_counts_the_detections_per_class_in_class_order():
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0]] * 3)
    r = Results(boxes, torch.tensor([0.9, 0.8, 0.7]), torch.tensor([2, 0, 2]), ("cat", "dog", "box"), "x.jpg",
                (8, 8))
    assert r.verbose() == "1 cat, 2 boxes"
    assert r[r.class_ids == 0].verbose() == "1 cat" and r[[]].verbose() == "no detections"
    clf = Results(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.int64), ("a", "b", "c"), "x.jpg",
                  (8, 8), probs=torch.tensor([0.2, 0.7, 0.1]))
    assert clf.verbose() == "b 0.70, a 0.20, c 0.10"


def test_predict_times_each_stage_per_image(nano):
    """Results.speed: the milliseconds of letterbox, network and decode + NMS, a batch's time shared by its
    images (the same for both images of one batch); indexing keeps it."""
    a, b = nano.predict([noise_image(seed=1), noise_image(seed=2)], imgsz=IMGSZ, conf=CONF, batch=2)
    assert set(a.speed) == {"preprocess", "inference", "postprocess"} and all(v > 0 for v in a.speed.values())
    assert a.speed == b.speed and a.speed is not b.speed and a[:1].speed == a.speed
    assert Results.unreadable("x.jpg", "x.jpg: bad", nano.names).speed is None
