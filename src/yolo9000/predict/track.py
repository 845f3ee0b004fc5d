"""Multi-object tracking by detection: ByteTrack (Zhang et al., ECCV 2022) on a detector's boxes, frame by
frame, giving each object an id that it keeps across frames.

ByteTrack keeps the low-scored boxes that most trackers throw away: each frame, the tracks (their boxes
moved by a constant-velocity Kalman filter) are matched first to the boxes scored at least ``high``, by
IoU; the tracks left over are then matched to the boxes scored between ``low`` and ``high`` (an occluded
object often scores low); a track that finds no box is kept, lost, for ``buffer`` frames before it is
dropped, and a high box that matches no track starts a new one when it scores at least ``new``.

Written here rather than taken from a package (the reference implementation and Ultralytics' are parts of
large frameworks, and the assignment they use needs scipy or lap, which yolo9000 does not depend on). Two
choices differ from the paper's code, said where they are made: matching is greedy, highest IoU first
(the optimal assignment differs only where two tracks compete for two boxes with crossed IoUs), and a
track matches only boxes of its own class (an id never jumps between classes).

The Kalman filter's state is the box centre, width and height and their velocities in pixels per frame;
its noise scales with the box's size, as in ByteTrack's and DeepSORT's filters.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torchvision.ops import box_iou

from yolo9000.ops.boxes import box_convert


@dataclass(frozen=True)
class TrackerConfig:
    """ByteTrack's thresholds (the paper's defaults, as Ultralytics' ``bytetrack.yaml``).

    ``high``: score of the boxes matched first; ``low``: the least score a box may have to be matched at
    all; ``new``: the least score of a box that starts a track; ``match_iou``: the least IoU of a first
    match (second matches need ``0.5``, the paper's); ``buffer``: frames a lost track is kept.
    """

    high: float = 0.5
    low: float = 0.1
    new: float = 0.6
    match_iou: float = 0.2
    buffer: int = 30


_STD_POS, _STD_VEL = 1.0 / 20, 1.0 / 160  # noise per unit of box size (DeepSORT's)


@dataclass
class _Track:
    """One object: its id, class, last score, Kalman state (mean (8,), covariance (8, 8)) and age."""

    id: int
    cls: int
    score: float
    mean: np.ndarray
    cov: np.ndarray
    lost_for: int = 0
    hits: int = 1

    @property
    def xyxy(self) -> np.ndarray:
        return box_convert(self.mean[None, :4], "cxcywh", "xyxy")[0]


@dataclass
class ByteTracker:
    """ByteTrack over a stream of frames (one tracker per video: :meth:`update` once per frame, in order)."""

    config: TrackerConfig = field(default_factory=TrackerConfig)
    tracks: list[_Track] = field(default_factory=list)
    next_id: int = 1

    def update(self, boxes_xyxy: np.ndarray, scores: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """The track id of each of this frame's boxes ((N, 4) pixels, (N,) scores, (N,) class ids): a
        positive id for a tracked box, 0 for a box left untracked (scored below ``low``, or unmatched and
        below ``new``)."""
        c = self.config
        boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
        scores, classes = np.asarray(scores, np.float64), np.asarray(classes, np.int64)
        ids = np.zeros(len(boxes), np.int64)
        for t in self.tracks:
            _predict(t)
        high = np.flatnonzero(scores >= c.high)
        low = np.flatnonzero((scores >= c.low) & (scores < c.high))
        unmatched = self._match(list(range(len(self.tracks))), high, boxes, scores, classes, ids, c.match_iou)
        active = [k for k in unmatched if self.tracks[k].lost_for == 0]  # the lost ones wait for a high box
        still = set(self._match(active, low, boxes, scores, classes, ids, 0.5))
        for k in set(unmatched) & still | set(unmatched) - set(active):
            self.tracks[k].lost_for += 1
        for i in high:
            if ids[i] == 0 and scores[i] >= c.new:
                ids[i] = self._start(boxes[i], scores[i], classes[i])
        self.tracks = [t for t in self.tracks if t.lost_for <= c.buffer]
        return ids

    def _match(self, track_ks: list[int], det_idx: np.ndarray, boxes: np.ndarray, scores: np.ndarray,
               classes: np.ndarray, ids: np.ndarray, min_iou: float) -> list[int]:
        """Match tracks ``track_ks`` to boxes ``det_idx`` greedily, highest IoU first (at least ``min_iou``,
        same class); matched tracks take their box (Kalman update) and write their id into ``ids``.
        Returns the tracks left unmatched."""
        if not track_ks or not len(det_idx):
            return track_ks
        predicted = np.stack([self.tracks[k].xyxy for k in track_ks])
        iou = box_iou(torch.from_numpy(predicted), torch.from_numpy(boxes[det_idx])).numpy()
        same = np.array([self.tracks[k].cls for k in track_ks])[:, None] == classes[det_idx][None, :]
        iou = np.where(same, iou, -1.0)
        left_t, left_d = set(range(len(track_ks))), set(range(len(det_idx)))
        for flat in np.argsort(-iou, axis=None, kind="stable"):
            a, b = divmod(int(flat), len(det_idx))
            if iou[a, b] < min_iou:
                break
            if a in left_t and b in left_d:
                left_t.discard(a)
                left_d.discard(b)
                t, i = self.tracks[track_ks[a]], int(det_idx[b])
                _correct(t, boxes[i])
                t.score, t.lost_for, t.hits = float(scores[i]), 0, t.hits + 1
                ids[i] = t.id
        return [track_ks[a] for a in sorted(left_t)]

    def _start(self, box_xyxy: np.ndarray, score: float, cls: int) -> int:
        z = box_convert(box_xyxy[None], "xyxy", "cxcywh")[0]
        mean = np.concatenate([z, np.zeros(4)])
        size = max(z[2], z[3])
        std = np.array([2 * _STD_POS, 2 * _STD_POS, 2 * _STD_POS, 2 * _STD_POS,
                        10 * _STD_VEL, 10 * _STD_VEL, 10 * _STD_VEL, 10 * _STD_VEL]) * size
        self.tracks.append(_Track(self.next_id, int(cls), float(score), mean, np.diag(std ** 2)))
        self.next_id += 1
        return self.next_id - 1


_F = np.eye(8)
_F[:4, 4:] = np.eye(4)  # constant velocity: position += velocity, once per frame
_H = np.eye(4, 8)  # the box (cx, cy, w, h) is observed


def _predict(t: _Track) -> None:
    """Move a track's state one frame ahead."""
    size = max(t.mean[2], t.mean[3], 1.0)
    q = np.diag(np.r_[np.full(4, _STD_POS * size), np.full(4, _STD_VEL * size)] ** 2)
    t.mean = _F @ t.mean
    t.cov = _F @ t.cov @ _F.T + q


def _correct(t: _Track, box_xyxy: np.ndarray) -> None:
    """Fold an observed box into a track's state (the Kalman update)."""
    z = box_convert(box_xyxy[None], "xyxy", "cxcywh")[0]
    size = max(t.mean[2], t.mean[3], 1.0)
    r = np.diag(np.full(4, _STD_POS * size) ** 2)
    s = _H @ t.cov @ _H.T + r
    gain = np.linalg.solve(s, (t.cov @ _H.T).T).T
    t.mean = t.mean + gain @ (z - _H @ t.mean)
    t.cov = t.cov - gain @ _H @ t.cov


__all__ = ["ByteTracker", "TrackerConfig"]
