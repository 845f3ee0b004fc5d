"""The ``yolo9000`` command, run in-process through ``main`` (and once as the installed console script)."""
from __future__ import annotations

import argparse
import filecmp
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from yolo9000 import YOLO
from yolo9000.cli.app import main
from yolo9000.models.zoo import ZOO
from yolo9000.words import count

TINY = "yolov2-tiny-voc"
TINY_FLOATS = 15_867_885
TINY_BYTES = 20 + 4 * TINY_FLOATS  # 63,471,560 with darknet's 20-byte header
RECORD_KEYS = {"image", "class_id", "class_name", "score", "xyxy"}
FAST = ["--imgsz", "224", "--quiet"]


def run_ok(capsys, argv: list) -> tuple[str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return out, err


def run_error(capsys, argv: list, *needles) -> str:
    """Run a command that must fail: exit code 2, nothing on stdout, one line on stderr naming the problem."""
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("yolo9000: error: ")
    for n in needles:
        assert str(n) in lines[0], (n, lines[0])
    return lines[0]


@pytest.fixture
def folder(tmp_path, reference_dir) -> Path:
    d = tmp_path / "images"
    d.mkdir()
    shutil.copy(reference_dir / "images" / "dog.jpg", d / "dog.jpg")
    shutil.copy(reference_dir / "images" / "person.jpg", d / "person.jpg")
    (d / "readme.txt").write_text("not an image")
    return d


@pytest.fixture
def video(tmp_path, reference_dir) -> Path:
    """Three 160x120 frames of dog.jpg, slightly shifted, as mp4v."""
    import cv2

    dog = np.asarray(Image.open(reference_dir / "images" / "dog.jpg").convert("RGB").resize((160, 120)))
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5.0, (160, 120))
    assert writer.isOpened()
    for shift in (0, 4, 8):
        writer.write(np.ascontiguousarray(np.roll(dog, shift, axis=1)[:, :, ::-1]))
    writer.release()
    return path


@pytest.fixture
def tiny_cfg(tmp_path, reference_dir) -> Path:
    p = tmp_path / "cfg" / "yolov2-tiny-voc.cfg"
    p.parent.mkdir()
    shutil.copy(reference_dir / "cfg" / "yolov2-tiny-voc.cfg", p)
    return p


def replace_line(path: Path, old: str, new: str) -> int:
    """Replace the first line equal to ``old``; return its 1-based number."""
    lines = path.read_text().splitlines()
    i = [line.strip() for line in lines].index(old)
    lines[i] = new
    path.write_text("\n".join(lines) + "\n")
    return i + 1


# ---------------------------------------------------------------- predict


def test_predict_folder_saves_images_and_json(capsys, folder, tmp_path, tiny_voc_weights):
    save_dir = tmp_path / "out"
    js = tmp_path / "json" / "dets.json"
    _, err = run_ok(capsys, ["predict", folder, "--model", TINY, "--weights", tiny_voc_weights, *FAST,
                             "--conf", "0.2", "--batch", "1", "--save-dir", save_dir, "--save-json", js])
    assert sorted(p.name for p in save_dir.iterdir()) == ["dog.jpg", "person.jpg"]
    for name, size in (("dog.jpg", (768, 576)), ("person.jpg", (640, 424))):
        with Image.open(save_dir / name) as im:
            assert im.format == "JPEG" and im.size == size
            im.load()
    records = json.loads(js.read_text())
    assert isinstance(records, list) and records
    assert all(set(r) == RECORD_KEYS for r in records)
    assert {Path(r["image"]).name for r in records} == {"dog.jpg", "person.jpg"}
    assert all(r["score"] > 0.2 and len(r["xyxy"]) == 4 for r in records)
    assert err.strip().startswith(f"2 images, {len(records)} detections")
    # the same detections as the Python API
    api = YOLO(TINY, weights=tiny_voc_weights).predict(folder, imgsz=224, conf=0.2)
    expected = [rec for r in api for rec in r.to_records()]
    assert [(r["image"], r["class_id"], r["class_name"]) for r in records] == \
           [(r["image"], r["class_id"], r["class_name"]) for r in expected]
    np.testing.assert_allclose([r["score"] for r in records], [r["score"] for r in expected], rtol=1e-5)
    np.testing.assert_allclose([r["xyxy"] for r in records], [r["xyxy"] for r in expected], rtol=1e-4, atol=0.1)


def test_predict_says_what_it_found_per_image(capsys, folder, video, tiny_voc_weights):
    """One line per image (its number of all, path, input size, counts per class, time), darknet's per-box
    lines with --ext-output, and the counts and speed at the end; --quiet keeps only the counts."""
    api = YOLO(TINY, weights=tiny_voc_weights).predict(folder, imgsz=224, conf=0.2)
    _, err = run_ok(capsys, ["predict", folder, "--model", TINY, "--weights", tiny_voc_weights, "--imgsz", "224",
                             "--conf", "0.2", "--ext-output"])
    lines = err.strip().splitlines()
    at = 0
    for k, r in enumerate(api, 1):
        head = re.fullmatch(rf"image {k}/2 {re.escape(r.path)}: 224x224 (.+), (\d+\.\d) ms", lines[at])
        assert head and head.group(1) == r.verbose() and float(head.group(2)) > 0
        counts = {r.names[c]: n for c, n in zip(*np.unique(r.class_ids.numpy(), return_counts=True))}
        assert head.group(1) == ", ".join(count(int(n), name) for name, n in counts.items())  # in class order
        for j, box in enumerate(lines[at + 1:at + 1 + len(r)]):
            x1, y1, x2, y2 = r.xyxy[j].tolist()
            assert box == (f"{r.names[int(r.class_ids[j])]}: {float(r.scores[j]):.0%}  (left_x: {x1:.0f}  top_y: "
                           f"{y1:.0f}  width: {x2 - x1:.0f}  height: {y2 - y1:.0f})")
        at += 1 + len(r)
    assert lines[at] == f"2 images, {sum(len(r) for r in api)} detections"
    assert re.fullmatch(r"speed: [\d.]+ ms preprocess, [\d.]+ ms inference, [\d.]+ ms postprocess per image at "
                        r"224x224, batch 4", lines[at + 1]) and len(lines) == at + 2
    # a video: one line per frame; --quiet: only the counts
    _, err = run_ok(capsys, ["predict", video, "--model", TINY, "--weights", tiny_voc_weights, "--imgsz", "224"])
    assert [x.split(":")[0] for x in err.splitlines()[:3]] == [f"video {k}/3 {video} frame {k - 1}" for k in (1, 2, 3)]
    _, err = run_ok(capsys, ["predict", folder, "--model", TINY, "--weights", tiny_voc_weights, *FAST, "--conf", "0.2"])
    assert err.strip().splitlines() == [f"2 images, {sum(len(r) for r in api)} detections"]


def test_predict_skip_bad_lists_the_unreadable_inputs(capsys, folder, tmp_path, tiny_voc_weights):
    (folder / "zz_broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    save_dir, js = tmp_path / "out", tmp_path / "dets.json"
    _, err = run_ok(capsys, ["predict", folder, "--model", TINY, "--weights", tiny_voc_weights, *FAST,
                             "--save-dir", save_dir, "--save-json", js, "--skip-bad"])
    assert sorted(p.name for p in save_dir.iterdir()) == ["dog.jpg", "person.jpg"]  # the good ones, complete
    records = json.loads(js.read_text())
    bad = [r for r in records if "error" in r]
    assert bad == [{"image": str(folder / "zz_broken.jpg"), "error": "not an image file"}]
    assert all(set(r) == RECORD_KEYS for r in records if "error" not in r)
    lines = err.strip().splitlines()
    assert lines[0].startswith("2 images,") and "1 unreadable, skipped" in lines[0]
    assert f"yolo9000: warning: skipped {folder / 'zz_broken.jpg'}: not an image file" in lines


def test_predict_same_stem_gets_unique_names(capsys, folder, tmp_path, tiny_voc_weights):
    Image.open(folder / "dog.jpg").save(folder / "dog.png")
    save_dir = tmp_path / "out"
    run_ok(capsys, ["predict", folder / "dog.jpg", folder / "dog.png", "--model", TINY,
                    "--weights", tiny_voc_weights, *FAST, "--save-dir", save_dir])
    assert sorted(p.name for p in save_dir.iterdir()) == ["dog.jpg", "dog_1.jpg"]


def test_predict_video(capsys, video, tmp_path, tiny_voc_weights):
    import cv2

    save_dir = tmp_path / "out"
    js = tmp_path / "dets.json"
    _, err = run_ok(capsys, ["predict", video, "--model", TINY, "--weights", tiny_voc_weights, *FAST,
                             "--conf", "0.1", "--save-dir", save_dir, "--save-json", js])
    assert err.startswith("3 images")
    out = save_dir / "clip.mp4"
    assert sorted(p.name for p in save_dir.iterdir()) == ["clip.mp4"]
    cap = cv2.VideoCapture(str(out))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == 3 and frames[0].shape == (120, 160, 3)
    records = json.loads(js.read_text())
    assert records
    assert all(set(r) == RECORD_KEYS | {"frame"} for r in records)
    assert {r["frame"] for r in records} <= {0, 1, 2}
    assert all(r["image"] == str(video) for r in records)


def test_predict_classifier_json(capsys, reference_dir, tmp_path, darknet19_weights):
    js = tmp_path / "top5.json"
    run_ok(capsys, ["predict", reference_dir / "images" / "dog.jpg", "--model", "darknet19", "--weights",
                    darknet19_weights, "--imgsz", "224", "--quiet", "--save-json", js])
    rows = json.loads(js.read_text())
    assert len(rows) == 5
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1


# ---------------------------------------------------------------- errors


def test_error_missing_source(capsys, tmp_path, tiny_voc_weights):
    missing = tmp_path / "nowhere" / "missing.jpg"
    run_error(capsys, ["predict", missing, "--model", TINY, "--weights", tiny_voc_weights], missing)


def test_error_corrupt_image(capsys, folder, tiny_voc_weights):
    bad = folder / "zzz.jpg"
    bad.write_bytes((folder / "dog.jpg").read_bytes()[:5000])
    # no --quiet: a progress bar must not add lines around the error
    run_error(capsys, ["predict", folder, "--model", TINY, "--weights", tiny_voc_weights, "--imgsz", "224"], bad)


def test_error_weights_too_short(capsys, tiny_voc_weights, reference_dir):
    dog = reference_dir / "images" / "dog.jpg"  # the sources are checked first
    line = run_error(capsys, ["predict", dog, "--model", "yolov2-voc", "--weights", tiny_voc_weights],
                     tiny_voc_weights, "expected")
    digits = line.replace(",", "")
    assert "202704264" in digits  # what yolov2-voc needs
    assert str(TINY_BYTES) in digits  # what the file has


def test_error_malformed_cfg(capsys, tiny_cfg, reference_dir):
    out, _ = run_ok(capsys, ["info", "--model", tiny_cfg])  # the unmodified cfg is fine
    assert f"{TINY_FLOATS:,}" in out
    lineno = replace_line(tiny_cfg, "filters=16", "filters=abc")
    line = run_error(capsys, ["predict", reference_dir / "images" / "dog.jpg", "--model", tiny_cfg],
                     f"{tiny_cfg}:{lineno}", "filters=abc")
    assert lineno == 26 and ":26:" in line


def test_error_unknown_layer_type(capsys, tiny_cfg, reference_dir):
    lineno = replace_line(tiny_cfg, "[region]", "[yolo]")
    run_error(capsys, ["predict", reference_dir / "images" / "dog.jpg", "--model", tiny_cfg],
              f"{tiny_cfg}:{lineno}", "[yolo]")


def test_error_names_count(capsys, tmp_path, reference_dir, tiny_voc_weights):
    names = tmp_path / "three.names"
    names.write_text("cat\ndog\nbird\n")
    line = run_error(capsys, ["predict", reference_dir / "images" / "dog.jpg", "--model", TINY,
                              "--weights", tiny_voc_weights, "--names", names], names)
    rest = line.split(str(names), 1)[1]
    assert "3" in rest and "20" in rest


def test_error_bad_imgsz(capsys, reference_dir, tiny_voc_weights):
    run_error(capsys, ["predict", reference_dir / "images" / "dog.jpg", "--model", TINY,
                       "--weights", tiny_voc_weights, "--imgsz", "300"], "--imgsz 300")


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["predict"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["bogus"])
    assert e.value.code == 2
    capsys.readouterr()


# ---------------------------------------------------------------- convert, zoo, info


def test_convert_round_trip_is_byte_exact(capsys, tmp_path, tiny_voc_weights):
    pt = tmp_path / "tiny.pt"
    back = tmp_path / "back.weights"
    run_ok(capsys, ["convert", "--model", TINY, "--weights", tiny_voc_weights, "-o", pt])
    assert pt.is_file()
    run_ok(capsys, ["convert", "--model", pt, "-o", back])
    assert back.stat().st_size == TINY_BYTES
    assert filecmp.cmp(back, tiny_voc_weights, shallow=False)


def test_convert_fresh_weights_seeded(capsys, tmp_path):
    a, b, c = tmp_path / "a.weights", tmp_path / "b.weights", tmp_path / "c.weights"
    run_ok(capsys, ["convert", "--model", TINY, "-o", a, "--seed", "7"])
    run_ok(capsys, ["convert", "--model", TINY, "-o", b, "--seed", "7"])
    run_ok(capsys, ["convert", "--model", TINY, "-o", c, "--seed", "8"])
    assert a.stat().st_size == TINY_BYTES
    assert filecmp.cmp(a, b, shallow=False)
    assert not filecmp.cmp(a, c, shallow=False)
    # and the written file loads back into the network
    YOLO(TINY, weights=a)


def test_convert_bad_extension(capsys, tmp_path):
    run_error(capsys, ["convert", "--model", TINY, "-o", tmp_path / "model.onnx"], "model.onnx")


def test_zoo(capsys):
    out, _ = run_ok(capsys, ["zoo"])
    lines = out.split()
    assert "yolov2-voc" in lines and "yolo9000" in lines
    assert lines == list(ZOO)


def test_info(capsys, tiny_voc_weights):
    out, _ = run_ok(capsys, ["info", "--model", TINY])
    assert "15,867,885" in out
    assert "125 x 13 x 13" in out
    out, _ = run_ok(capsys, ["info", "--model", TINY, "--weights", tiny_voc_weights, "--imgsz", "320"])
    assert "15,867,885" in out and "125 x 10 x 10" in out


def test_console_script(tmp_path):
    """The installed ``yolo9000`` script: a real process, its exit code and its whole stderr."""
    exe = Path(sys.executable).with_name("yolo9000")
    assert exe.is_file(), f"console script not installed at {exe}"
    missing = tmp_path / "missing.jpg"
    bad = subprocess.run([str(exe), "predict", str(missing), "--model", TINY], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.splitlines() == [f"yolo9000: error: {missing}: no such file or folder"]


@pytest.mark.parametrize("command", ["train", "train-classifier", "train-joint"])
def test_every_training_flag_has_a_help_line_and_its_default(command: str, capsys) -> None:
    """The trainers' flags come from their config dataclasses: each with its field's help and default."""
    import dataclasses

    from yolo9000.cli.app import build_parser
    from yolo9000.train.classify import ClassifyConfig
    from yolo9000.train.detect import TrainConfig
    from yolo9000.train.joint import JointConfig

    cls = {"train": TrainConfig, "train-classifier": ClassifyConfig, "train-joint": JointConfig}[command]
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    actions = {a.dest: a for a in sub.choices[command]._actions}
    for f in dataclasses.fields(cls):
        if f.metadata.get("flags") == ():  # Python-only (from_cfg: what resolving the recipe records)
            assert f.name not in actions
            continue
        text = actions[f.name].help or ""
        assert f.metadata.get("help") and text.startswith(f.metadata["help"].replace("%", "%%")), f.name
        if f.default is dataclasses.MISSING:
            assert actions[f.name].required and text.endswith("(required)"), f.name
        else:
            assert "(default: " in text, f.name
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    assert "(default: " in capsys.readouterr().out
