"""Annotated videos (``yolo9000.predict.video``): H.264 through PyAV, which browsers play, and OpenCV's mp4v
without it; each file decoded again, frame for frame."""
from __future__ import annotations

import av
import numpy as np
import pytest

from yolo9000.predict import video


def frames(h: int, w: int, n: int = 4) -> list[np.ndarray]:
    """Flat colours with a bright square moving right: easy to tell apart after lossy coding."""
    out = []
    for k in range(n):
        f = np.full((h, w, 3), (30 * k, 80, 160), np.uint8)
        f[4:12, 4 + 6 * k:12 + 6 * k] = 255
        out.append(f)
    return out


def decoded(path) -> tuple[str, list[np.ndarray]]:
    with av.open(str(path)) as c:
        name = c.streams.video[0].codec_context.name
        return name, [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


@pytest.mark.parametrize("h264, codec", [(True, "h264"), (False, "mpeg4")])
@pytest.mark.parametrize("h, w", [(48, 64), (47, 63)])  # odd sides: one more row and column for yuv420p
def test_a_written_video_decodes_to_its_frames(tmp_path, h264, codec, h, w):
    out = video.open_video(tmp_path / "v.mp4", 5.0, (w, h), h264=h264)
    shown = frames(h, w)
    for f in shown:
        out.write(f)
    out.release()
    name, got = decoded(tmp_path / "v.mp4")
    assert name == codec and len(got) == len(shown)
    for a, b in zip(got, shown):
        assert a.shape == (h + h % 2, w + w % 2, 3)  # odd sides: padded, not cut
        assert np.abs(a[:h, :w].astype(int) - b.astype(int)).mean() < 6  # lossy, but the same picture


def test_h264_by_default_where_pyav_is_installed_else_mp4v(tmp_path, monkeypatch):
    assert video.open_video(tmp_path / "a.mp4", 5.0, (32, 32)).codec == "h264"
    monkeypatch.setattr(video, "available", lambda module: False)
    out = video.open_video(tmp_path / "b.mp4", 5.0, (32, 32))
    out.write(frames(32, 32, 1)[0])
    out.release()
    assert out.codec == "mp4v" and decoded(tmp_path / "b.mp4")[0] == "mpeg4"
