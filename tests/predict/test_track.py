"""Tracking (``yolo9000.predict.track`` and ``track``): ByteTrack on moving, crossing objects with known
identities, counting id switches; through the predictor on a generated video, and the CLI's outputs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from yolo9000 import Results, Yolo9000Error
from yolo9000.cli.app import main
from yolo9000.predict import video as video_out
from yolo9000.predict.predictor import Predictor
from yolo9000.predict.track import ByteTracker, TrackerConfig

NAMES = ("circle", "square")


def crossing(frames: int = 60) -> list[list[tuple[int, int, np.ndarray]]]:
    """Per frame, (identity, class, xyxy box) of three objects: two of one class crossing head-on, a third
    (the other class) moving down through their path."""
    out = []
    for f in range(frames):
        out.append([(1, 0, np.array([10 + 4 * f, 50, 40 + 4 * f, 80], float)),
                    (2, 0, np.array([250 - 4 * f, 56, 280 - 4 * f, 86], float)),
                    (3, 1, np.array([125, -20 + 3 * f, 155, 10 + 3 * f], float))])
    return out


def id_switches(truth_ids: list[list[int]], track_ids: list[list[int]]) -> tuple[int, set[int]]:
    """(times an identity's track id changed from one frame to its next, the track ids used)."""
    last: dict[int, int] = {}
    switches = 0
    for truths, tracks in zip(truth_ids, track_ids):
        for who, tid in zip(truths, tracks):
            if tid and who in last and last[who] != tid:
                switches += 1
            if tid:
                last[who] = tid
    return switches, set(last.values())


def run_tracker(scenes, noise: float = 1.5, dip: tuple[int, int] | None = None, gone: tuple[int, int] | None = None,
                config: TrackerConfig = TrackerConfig()) -> tuple[list[list[int]], list[list[int]]]:
    """Feed the scenes' boxes (with pixel noise; identity 2 scored 0.3 in frames ``dip``, missing in ``gone``)."""
    rng = np.random.default_rng(0)
    tracker = ByteTracker(config)
    truths, tracks = [], []
    for f, objs in enumerate(scenes):
        objs = [o for o in objs if not (gone and o[0] == 2 and gone[0] <= f < gone[1])]
        boxes = np.stack([b for _, _, b in objs]) + rng.normal(0, noise, (len(objs), 4))
        scores = np.array([0.3 if dip and who == 2 and dip[0] <= f < dip[1] else 0.9 for who, _, _ in objs])
        ids = tracker.update(boxes, scores, np.array([c for _, c, _ in objs]))
        truths.append([who for who, _, _ in objs])
        tracks.append(ids.tolist())
    return truths, tracks


def test_crossing_objects_keep_their_ids():
    switches, used = id_switches(*run_tracker(crossing()))
    assert switches == 0 and len(used) == 3


def test_a_low_scored_stretch_is_followed_by_the_second_matching():
    """ByteTrack's point: identity 2 scores 0.3 (below ``high``) for 10 frames and keeps its id throughout."""
    truths, tracks = run_tracker(crossing(), dip=(20, 30))
    assert id_switches(truths, tracks) == (0, {1, 2, 3})
    assert all(t[1] == 2 for t in tracks[20:30])  # tracked, not dropped, while low


def test_a_lost_object_keeps_its_id_within_the_buffer_and_not_after():
    truths, tracks = run_tracker(crossing(), gone=(10, 20))
    assert id_switches(truths, tracks) == (0, {1, 2, 3})
    truths, tracks = run_tracker(crossing(), gone=(10, 20), config=TrackerConfig(buffer=5))
    switches, used = id_switches(truths, tracks)
    assert switches == 1 and len(used) == 3  # came back as a new track (4) after the buffer ran out


def test_low_boxes_start_no_track_and_ids_stay_in_their_class():
    t = ByteTracker()
    assert t.update(np.array([[0, 0, 10, 10.0]]), np.array([0.4]), np.array([0])).tolist() == [0]
    assert t.update(np.array([[0, 0, 10, 10.0]]), np.array([0.9]), np.array([0])).tolist() == [1]
    # the same place, another class: another object
    assert t.update(np.array([[0, 0, 10, 10.0]]), np.array([0.9]), np.array([1])).tolist() == [2]


@pytest.fixture
def clip(tmp_path) -> tuple[Path, list[list[tuple[int, int, np.ndarray]]]]:
    """A 40-frame video of the crossing scene (coloured blocks on grey) and its ground truth per frame."""
    scenes = crossing(40)
    path = tmp_path / "crossing.mp4"
    out = video_out.open_video(path, 10.0, (320, 160))
    for objs in scenes:
        frame = np.full((160, 320, 3), 90, np.uint8)
        for who, _, b in objs:
            x1, y1, x2, y2 = np.clip(b, 0, [319, 159, 319, 159]).astype(int)
            frame[y1:y2, x1:x2] = (255 * (who == 1), 255 * (who == 2), 255 * (who == 3))
        out.write(frame)
    out.release()
    return path, scenes


def stand_in_detector(monkeypatch, path: Path, scenes) -> None:
    """Predictor.predict replaced by the clip's ground truth with pixel noise, frame by frame: what is under
    test is the frames' order, the tracker and the outputs, not a detector's skill."""
    rng = np.random.default_rng(1)

    def detect(self, source, stream=False, conf=0.25, keep_images=True, **kwargs):
        for f, objs in enumerate(scenes):
            boxes = torch.tensor(np.stack([b for _, _, b in objs]) + rng.normal(0, 1, (3, 4)), dtype=torch.float32)
            image = np.full((160, 320, 3), 90, np.uint8) if keep_images else None
            yield Results(boxes, torch.full((3,), 0.8), torch.tensor([c for _, c, _ in objs]), NAMES, str(path),
                          (160, 320), frame=f, orig_img=image)

    monkeypatch.setattr(Predictor, "predict", detect)


def test_track_follows_the_objects_of_a_video(clip, monkeypatch):
    """Tracking a video file: every object keeps one id, and the results carry them as r.track_ids /
    r.boxes.id."""
    path, scenes = clip
    stand_in_detector(monkeypatch, path, scenes)
    predictor = Predictor.load("yolov2-nano", weights="random", device="cpu")
    results = predictor.track(path)
    assert len(results) == 40 and all(r.boxes.is_track for r in results)
    switches, used = id_switches([[w for w, _, _ in s] for s in scenes], [r.track_ids.tolist() for r in results])
    assert switches == 0 and len(used) == 3
    assert torch.equal(results[5].boxes.id, results[5].track_ids) and results[5][[0]].track_ids.tolist() == [
        results[5].track_ids.tolist()[0]]
    with pytest.raises(Yolo9000Error, match="classifier"):
        Predictor.load("darknet19", weights="random", device="cpu").track(path)


def test_cli_track_writes_mot_files_and_drawn_ids(clip, tmp_path, capsys, monkeypatch):
    """The command: a drawn video and one MOT line per tracked box (frames from 1), matching the JSON."""
    path, scenes = clip
    stand_in_detector(monkeypatch, path, scenes)
    out = tmp_path / "out"
    assert main(["track", str(path), "--model", "yolov2-nano", "--weights", "random", "--imgsz", "64", "--device",
                 "cpu", "--conf", "0.05", "--save-dir", str(out), "--save-mot", "--save-json",
                 str(tmp_path / "t.json"), "--quiet"]) == 0
    mot = (out / "mot" / "crossing.txt").read_text().splitlines()
    rows = [line.split(",") for line in mot]
    assert all(len(r) == 10 and r[7:] == ["-1", "-1", "-1"] and int(r[1]) >= 1 for r in rows)
    assert {int(r[0]) for r in rows} <= set(range(1, 41)) and (out / "crossing.mp4").is_file()
    records = json.loads((tmp_path / "t.json").read_text())
    assert len(records) == len(rows) == 3 * 40 and {int(r[1]) for r in rows} == {1, 2, 3}
    assert [(rec["frame"] + 1, rec["track_id"]) for rec in records] == [(int(r[0]), int(r[1])) for r in rows]
    assert main(["track", str(path), "--model", "yolov2-nano", "--weights", "random", "--save-mot"]) == 2
    assert "--save-mot writes into --save-dir/mot" in capsys.readouterr().err
