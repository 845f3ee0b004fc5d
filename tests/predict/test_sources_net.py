"""Sources beyond files: image URLs, HTTP video, cameras, live buffering, and Ctrl-C in ``yolo9000 predict``.

Everything network-facing runs against a loopback HTTP server (127.0.0.1, a free port, serving a tmp folder);
nothing here reaches outside the machine. Cameras are faked by replacing ``sources.open_capture`` except in
the no-camera test, which uses OpenCV itself (this machine has no webcam).
"""
from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from yolo9000.predict import sources
from yolo9000.api import YOLO
from yolo9000.cli.app import main
from yolo9000.errors import Yolo9000Error
from yolo9000.predict.sources import Camera, URLSource, count_frames, expand, output_stem

MODEL = "yolov2-nano"
FAST = ["--model", MODEL, "--imgsz", "128", "--conf", "0.05", "--device", "cpu", "--quiet", "--batch", "2"]
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # random weights, on purpose


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """No proxy may take the loopback requests elsewhere; short timeouts so a failure cannot hang a test."""
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setattr(sources, "URL_TIMEOUT", 10.0)


class _Handler(http.server.SimpleHTTPRequestHandler):
    types: dict[str, str] = {}  # URL path -> Content-Type, for files without a telling extension

    def guess_type(self, path):  # noqa: ANN001
        name = "/" + Path(path).name
        return self.types.get(name) or super().guess_type(path)

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


@pytest.fixture
def server(tmp_path):
    """(base URL, served folder, Content-Type overrides) of a loopback HTTP server."""
    root = tmp_path / "www"
    root.mkdir()
    handler = type("Handler", (_Handler,), {"types": {}})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root, handler.types
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def yolo() -> YOLO:
    torch.manual_seed(0)
    return YOLO(MODEL, device="cpu")


def photo(h: int = 72, w: int = 96, seed: int = 0) -> np.ndarray:
    """A smooth RGB picture (JPEG-friendly) that a random network still finds boxes in."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // w, y * 255 // h, (x + y) * 127 // (w + h)], axis=2)
    img[h // 4:h // 2, w // 4:w // 2] = rng.integers(0, 256, 3)
    return img.astype(np.uint8)


def write_video(path: Path, n: int = 6, w: int = 64, h: int = 48) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (w, h))
    assert writer.isOpened(), "OpenCV cannot write mp4v"
    for i in range(n):
        writer.write(np.ascontiguousarray(photo(h, w, seed=i)[:, :, ::-1]))
    writer.release()
    return path


def read_video(path: Path) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return frames


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def same_results(a, b) -> None:
    assert a.orig_shape == b.orig_shape and a.frame == b.frame
    assert len(a) > 0, "the comparison needs detections"
    assert torch.equal(a.xyxy, b.xyxy) and torch.equal(a.scores, b.scores) and torch.equal(a.class_ids, b.class_ids)
    np.testing.assert_array_equal(a.orig_img, b.orig_img)


# ---------------------------------------------------------------- reading a source


def test_camera_index_parsing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert expand("0") == [Camera(0)] and expand(0) == [Camera(0)] and expand(" 12 ") == [Camera(12)]
    assert expand(["3", 4]) == [Camera(3), Camera(4)]
    Image.fromarray(photo()).save(tmp_path / "7", format="PNG")
    assert expand("7") == [Path("7")]  # an existing file named like an index is the file
    with pytest.raises(Yolo9000Error, match="non-negative"):
        expand(-1)
    assert Camera(2).label == "camera2" and output_stem("camera2") == "camera2"
    assert count_frames([Camera(0)]) is None


def test_url_kinds_and_output_names():
    kinds = {u: expand(u)[0].kind for u in [
        "http://h/a/dog.jpg", "https://h/dog.JPEG?size=2", "http://h/clip.mp4", "https://h/live/index.m3u8",
        "rtsp://user:pw@h:554/stream1", "rtmp://h/live", "http://h/cam", "http://h:8080/"]}
    assert kinds == {"http://h/a/dog.jpg": "image", "https://h/dog.JPEG?size=2": "image",
                     "http://h/clip.mp4": "video", "https://h/live/index.m3u8": "video",
                     "rtsp://user:pw@h:554/stream1": "video", "rtmp://h/live": "video",
                     "http://h/cam": "probe", "http://h:8080/": "probe"}
    assert isinstance(expand("http://h/a/dog.jpg")[0], URLSource)
    assert count_frames(expand(["http://h/a.jpg", "http://h/b.png"])) == 2
    assert count_frames(expand("http://h/clip.mp4")) is None
    with pytest.raises(Yolo9000Error, match="no host"):
        expand("http:///dog.jpg")
    assert output_stem("http://h/a/dog.jpg?x=1") == "dog"
    assert output_stem("https://h/my%20photo.png") == "my_photo"
    assert output_stem("rtsp://h:554/live/ch1") == "ch1"
    assert output_stem("http://127.0.0.1:8080/") == "127.0.0.1"
    assert output_stem("/data/x/clip.mp4") == "clip"


# ---------------------------------------------------------------- image URLs


def test_image_url_predicts_as_the_local_file(server, yolo, tmp_path):
    base, root, _ = server
    Image.fromarray(photo()).save(root / "dog.jpg", quality=92)
    url = f"{base}/dog.jpg"
    (r_url,) = yolo.predict(url, imgsz=128, conf=0.05)
    (r_file,) = yolo.predict(root / "dog.jpg", imgsz=128, conf=0.05)
    assert r_url.path == url and r_url.frame is None
    same_results(r_url, r_file)
    gen = yolo.predict([url, url], imgsz=128, conf=0.05, stream=True)
    assert not isinstance(gen, list)
    for r in gen:
        same_results(r, r_file)


def test_extensionless_url_is_decided_by_content_type(server, yolo):
    base, root, types = server
    Image.fromarray(photo()).save(root / "snapshot", format="PNG")
    types["/snapshot"] = "image/png"
    (root / "page").write_text("<html>not an image</html>")
    types["/page"] = "text/html"
    (r,) = yolo.predict(f"{base}/snapshot", imgsz=128, conf=0.05)
    np.testing.assert_array_equal(r.orig_img, photo())
    assert r.path == f"{base}/snapshot"
    with pytest.raises(Yolo9000Error) as e:
        yolo.predict(f"{base}/page", imgsz=128)
    assert one_line(str(e.value)) == f"{base}/page: not an image (Content-Type text/html)"
    write_video(root / "feed.mp4", n=3).rename(root / "feed")  # a video/* type makes it a stream, read by OpenCV
    types["/feed"] = "video/mp4"
    rs = yolo.predict(f"{base}/feed", imgsz=128)
    assert [r.frame for r in rs] == [0, 1, 2] and all(r.path == f"{base}/feed" for r in rs)


def test_image_url_exif(server, yolo):
    from PIL import ImageOps

    base, root, _ = server
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(photo()).save(root / "phone.jpg", exif=exif, quality=95)
    with Image.open(root / "phone.jpg") as im:
        upright = np.array(ImageOps.exif_transpose(im).convert("RGB"))
    (r,) = yolo.predict(f"{base}/phone.jpg", imgsz=128)
    (raw,) = yolo.predict(f"{base}/phone.jpg", imgsz=128, exif=False)
    assert r.orig_shape == (96, 72) and raw.orig_shape == (72, 96)
    np.testing.assert_array_equal(r.orig_img, upright)


def test_image_url_cli_equals_local_file(server, tmp_path, capsys):
    base, root, _ = server
    Image.fromarray(photo()).save(root / "dog.png")
    url = f"{base}/dog.png?v=1"
    outs = {}
    for name, src in [("url", url), ("file", str(root / "dog.png"))]:
        torch.manual_seed(0)  # the same random weights for both runs
        rc = main(["predict", src, *FAST, "--save-dir", str(tmp_path / name), "--save-json",
                   str(tmp_path / f"{name}.json")])
        assert rc == 0, capsys.readouterr().err
        outs[name] = json.loads((tmp_path / f"{name}.json").read_text())
    assert outs["url"] and all(rec["image"] == url for rec in outs["url"])
    strip = [{k: v for k, v in rec.items() if k != "image"} for rec in outs["url"]]
    assert strip == [{k: v for k, v in rec.items() if k != "image"} for rec in outs["file"]]
    assert [p.name for p in (tmp_path / "url").iterdir()] == ["dog.jpg"]


def test_url_errors_are_one_line(server, yolo, capsys):
    base, _, _ = server
    missing = f"{base}/missing.jpg"
    with pytest.raises(Yolo9000Error) as e:
        yolo.predict(missing, imgsz=128)
    assert one_line(str(e.value)) == f"{missing}: HTTP error 404 (File not found)"
    refused = f"http://127.0.0.1:{refused_port()}/dog.jpg"
    with pytest.raises(Yolo9000Error) as e:
        yolo.predict(refused, imgsz=128)
    assert one_line(str(e.value)) == f"{refused}: cannot connect (Connection refused)"
    for url, problem in [(missing, "HTTP error 404"), (refused, "Connection refused")]:
        assert main(["predict", url, *FAST]) == 2
        err = one_line(capsys.readouterr().err)
        assert err.startswith(f"yolo9000: error: {url}: ") and problem in err
    # with skip_bad they are unreadable inputs, as bad files are
    rs = yolo.predict([missing, refused], imgsz=128, skip_bad=True)
    assert [r.path for r in rs] == [missing, refused] and all(r.error and len(r) == 0 for r in rs)
    assert main(["predict", missing, refused, *FAST, "--skip-bad"]) == 0
    err = capsys.readouterr().err
    assert f"skipped {missing}: HTTP error 404" in err and f"skipped {refused}: cannot connect" in err


def test_download_size_cap(server, yolo, monkeypatch):
    base, root, _ = server
    Image.fromarray(photo()).save(root / "big.png")
    monkeypatch.setattr(sources, "URL_MAX_BYTES", 100)
    with pytest.raises(Yolo9000Error, match="larger than") as e:
        yolo.predict(f"{base}/big.png", imgsz=128)
    one_line(str(e.value))


# ---------------------------------------------------------------- video over HTTP


def test_http_video_predicts_as_the_local_file(server, yolo, tmp_path, capsys):
    import cv2

    base, root, _ = server
    write_video(root / "clip.mp4", n=6)
    url = f"{base}/clip.mp4"
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)  # does this OpenCV's FFmpeg read http at all?
    readable = cap.isOpened() and cap.read()[0]
    cap.release()
    if not readable:
        pytest.skip("this OpenCV build's FFmpeg cannot read http:// video")
    from_url = yolo.predict(url, imgsz=128, conf=0.05)
    local = yolo.predict(root / "clip.mp4", imgsz=128, conf=0.05)
    assert [r.frame for r in from_url] == list(range(6)) == [r.frame for r in local]
    assert all(r.path == url and r.fps == pytest.approx(10.0) for r in from_url)
    for a, b in zip(from_url, local):
        same_results(a, b)
    # the CLI writes <name>.mp4 beside nothing else, playable, every frame (a stream of known length is lossless)
    torch.manual_seed(0)
    assert main(["predict", url, *FAST, "--save-dir", str(tmp_path / "out")]) == 0, capsys.readouterr().err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["clip.mp4"]
    assert len(read_video(tmp_path / "out" / "clip.mp4")) == 6


def test_http_video_404_is_one_line(server, yolo, capsys):
    base, _, _ = server
    url = f"{base}/nothing.mp4"
    with pytest.raises(Yolo9000Error) as e:
        yolo.predict(url, imgsz=128)
    assert one_line(str(e.value)) == f"{url}: HTTP error 404 (File not found)"
    assert main(["predict", url, *FAST]) == 2
    assert one_line(capsys.readouterr().err).startswith(f"yolo9000: error: {url}: HTTP error 404")
    url = f"rtsp://127.0.0.1:{refused_port()}/live"
    with pytest.raises(Yolo9000Error) as e:
        yolo.predict(url, imgsz=128)
    assert one_line(str(e.value)).startswith(f"{url}: cannot open the stream")


# ---------------------------------------------------------------- cameras and live buffering


class FakeCapture:
    """A cv2.VideoCapture stand-in: ``n`` frames as fast as asked (frame i is filled with i % 256), an
    unknown frame count (a live source) unless ``count`` is given."""

    def __init__(self, n: int, count: int = 0, opened: bool = True, h: int = 24, w: int = 32) -> None:
        self.n, self.count, self.opened, self.h, self.w = n, count, opened, h, w
        self.i = 0
        self.released = False
        self.exhausted = threading.Event()

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.opened

    def get(self, prop: int) -> float:
        import cv2

        return {cv2.CAP_PROP_FRAME_COUNT: float(self.count), cv2.CAP_PROP_FPS: 30.0}.get(prop, 0.0)

    def read(self):
        if self.i >= self.n:
            self.exhausted.set()
            return False, None
        frame = np.full((self.h, self.w, 3), self.i % 256, np.uint8)
        self.i += 1
        return True, frame

    def release(self) -> None:
        self.released = True


@pytest.fixture
def peaks(monkeypatch) -> list:
    """Every FrameBuffer made, each recording the most frames it ever held."""
    made: list = []

    class Recording(sources.FrameBuffer):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.peak = 0
            made.append(self)

        def put(self, frame) -> bool:  # noqa: ANN001
            ok = super().put(frame)
            self.peak = max(self.peak, len(self))
            return ok

    monkeypatch.setattr(sources, "FrameBuffer", Recording)
    return made


def test_live_source_keeps_a_bounded_buffer_and_drops_the_oldest(monkeypatch, peaks):
    cap = FakeCapture(n=300)
    monkeypatch.setattr(sources, "open_capture", lambda target: cap if target == 0 else pytest.fail(target))
    gen = sources.prefetch_frames(expand("0"), workers=2, ahead=8, live_buffer=2)
    first = next(gen)
    assert first.path == "camera0" and first.fps == 30.0
    assert cap.exhausted.wait(10), "the reader must not wait for the consumer"  # the consumer is slower
    rest = list(gen)
    (buf,) = peaks
    assert buf.live and buf.peak <= 2
    # the newest frames are kept, the oldest dropped: at most 2 wait (one fewer when the reader's last put and
    # the consumer's wake-up interleave, as seen once on Python 3.10)
    assert 1 <= len(rest) <= 2 and [f.frame for f in rest] == list(range(300 - len(rest), 300))
    assert buf.dropped == 300 - 1 - len(rest) and cap.released
    assert all(int(f.image[0, 0, 0]) == f.frame % 256 for f in [first, *rest])


def test_known_length_stream_is_lossless_and_bounded(monkeypatch, peaks):
    cap = FakeCapture(n=40, count=40)  # an http video whose container gives its length
    monkeypatch.setattr(sources, "open_capture", lambda target: cap)
    frames = []
    for f in sources.prefetch_frames([URLSource("http://127.0.0.1:9/clip.mp4", "video")], workers=2, ahead=4):
        frames.append(f.frame)
        time.sleep(0.002)  # a slow consumer
    (buf,) = peaks
    assert frames == list(range(40)) and not buf.live and buf.peak <= 4 and buf.dropped == 0


def test_camera_predict_stream_with_slow_consumer(monkeypatch, yolo, peaks):
    cap = FakeCapture(n=120)
    monkeypatch.setattr(sources, "open_capture", lambda target: cap)
    seen = []
    for r in yolo.predict(0, imgsz=64, stream=True, batch=1, progress=True):  # a bar with no total
        seen.append(r.frame)
        assert r.path == "camera0" and r.orig_shape == (24, 32) and r.fps == 30.0
        if len(seen) == 1:
            cap.exhausted.wait(10)
    assert seen == sorted(set(seen)) and seen[-1] == 119 and len(seen) < 120
    assert peaks[0].peak <= sources.LIVE_BUFFER


class _MJPEGHandler(http.server.BaseHTTPRequestHandler):
    """An endless MJPEG stream (multipart/x-mixed-replace), as IP cameras serve: frame i is grey level i % 256,
    about 100 frames a second, until the client goes."""

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        import io

        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        try:
            for i in range(100_000):
                buf = io.BytesIO()
                Image.fromarray(np.full((48, 64, 3), i % 256, np.uint8)).save(buf, format="JPEG")
                data = buf.getvalue()
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(data)
                                 + data + b"\r\n")
                time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            pass


def test_http_mjpeg_camera_is_live_and_drops_for_a_slow_consumer(peaks):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _MJPEGHandler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/video"  # no extension: decided by its Content-Type
    try:
        got = []
        gen = sources.prefetch_frames(expand(url), workers=2)
        for f in gen:
            assert f.path == url and f.image.shape == (48, 64, 3)
            got.append(f.frame)
            time.sleep(0.1)  # ten times slower than the camera
            if len(got) == 8:
                break
        gen.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    (buf,) = peaks
    assert buf.live and buf.peak <= sources.LIVE_BUFFER and buf.dropped > 0
    assert got == sorted(set(got)) and got[-1] > len(got)  # current frames, the stale ones dropped


def test_stopping_early_releases_the_camera(monkeypatch, yolo):
    cap = FakeCapture(n=10**9)  # never ends, as a webcam
    monkeypatch.setattr(sources, "open_capture", lambda target: cap)
    for k, r in enumerate(yolo.predict("0", imgsz=64, stream=True)):
        if k == 3:
            break
    deadline = time.time() + 10
    while not cap.released and time.time() < deadline:
        time.sleep(0.01)
    assert cap.released


def test_camera_that_cannot_open_is_one_line(monkeypatch, yolo, capsys):
    monkeypatch.setattr(sources, "open_capture", lambda target: FakeCapture(0, opened=False))
    with pytest.raises(Yolo9000Error) as e, pytest.warns(UserWarning, match="use stream=True"):
        yolo.predict(3, imgsz=64)  # (a list of a camera's results grows until it ends: a warning says so)
    assert one_line(str(e.value)).startswith("camera3: cannot open camera 3")
    rs = yolo.predict(["3", 4], imgsz=64, skip_bad=True)
    assert [r.path for r in rs] == ["camera3", "camera4"] and all(r.error for r in rs)


def test_no_webcam_here_is_one_line(yolo, capfd):
    import cv2

    cap = cv2.VideoCapture(0)
    present = cap.isOpened()
    cap.release()
    capfd.readouterr()
    if present:
        pytest.skip("this machine has a camera 0")
    with pytest.raises(Yolo9000Error) as e:
        yolo.predict("0", imgsz=64)
    assert one_line(str(e.value)).startswith("camera0: cannot open camera 0")
    assert main(["predict", "0", *FAST]) == 2
    out, err = capfd.readouterr()
    assert one_line(err).startswith("yolo9000: error: camera0: cannot open camera 0")  # no OpenCV warnings


def test_save_dir_check_ignores_non_file_sources(server, tmp_path, monkeypatch, capsys):
    base, root, _ = server
    Image.fromarray(photo()).save(root / "dog.jpg")
    monkeypatch.chdir(root)  # the save dir is the served folder, which holds dog.jpg, but the input is a URL
    torch.manual_seed(0)
    assert main(["predict", f"{base}/dog.jpg", *FAST, "--save-dir", str(root / "out")]) == 0, capsys.readouterr()
    assert (root / "out" / "dog.jpg").is_file()
    assert main(["predict", str(root / "dog.jpg"), *FAST, "--save-dir", str(root)]) == 2
    assert f"holds {root / 'dog.jpg'}, an input of this command" in capsys.readouterr().err


# ---------------------------------------------------------------- Ctrl-C keeps what is done


@pytest.fixture
def mixed_inputs(tmp_path) -> list[str]:
    d = tmp_path / "in"
    d.mkdir()
    Image.fromarray(photo(seed=1)).save(d / "a.jpg")
    Image.fromarray(photo(seed=2)).save(d / "b.png")
    write_video(d / "clip.mp4", n=8)
    return [str(d / "a.jpg"), str(d / "b.png"), str(d / "clip.mp4")]


def interrupt_after(monkeypatch, n: int, exc: BaseException) -> None:
    """YOLO.predict yields its first ``n`` results, then raises ``exc`` (as Ctrl-C would)."""
    real = YOLO.predict

    def predict(self, *args, **kwargs):
        def gen():
            for k, r in enumerate(real(self, *args, **kwargs)):
                if k == n:
                    raise exc
                yield r
        return gen()

    monkeypatch.setattr(YOLO, "predict", predict)


def test_interrupt_keeps_images_playable_video_and_json(monkeypatch, mixed_inputs, tmp_path, capsys):
    interrupt_after(monkeypatch, 2 + 5, KeyboardInterrupt())  # both images and 5 of the 8 video frames
    out, js = tmp_path / "out", tmp_path / "dets.json"
    torch.manual_seed(0)
    rc = main(["predict", *mixed_inputs, *FAST, "--save-dir", str(out), "--save-json", str(js)])
    err = one_line(capsys.readouterr().err)
    assert rc == 130
    assert err == f"yolo9000: interrupted after 7 images; kept the files done in {out} and their JSON in {js}"
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "b.jpg", "clip.mp4"]  # no staging folder left
    assert len(read_video(out / "clip.mp4")) == 5  # finalised: playable, with the frames done
    with Image.open(out / "a.jpg") as im:
        assert im.size == (96, 72)
    records = json.loads(js.read_text())
    done = {(Path(r["image"]).name, r.get("frame")) for r in records}
    assert done == {("a.jpg", None), ("b.png", None)} | {("clip.mp4", i) for i in range(5)}


def test_interrupt_inside_the_loop_body_keeps_what_is_complete(monkeypatch, mixed_inputs, tmp_path, capsys):
    from yolo9000.cli import app as cli

    real = cli._write_video_frame
    calls = []

    def write(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(cli, "_write_video_frame", write)
    out = tmp_path / "out"
    torch.manual_seed(0)
    assert main(["predict", *mixed_inputs, *FAST, "--save-dir", str(out)]) == 130
    assert "interrupted after 4 images" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "b.jpg", "clip.mp4"]
    assert len(read_video(out / "clip.mp4")) == 2


def test_an_error_still_keeps_nothing(monkeypatch, mixed_inputs, tmp_path, capsys):
    interrupt_after(monkeypatch, 4, Yolo9000Error("clip.mp4: the disk caught fire"))
    out, js = tmp_path / "out", tmp_path / "dets.json"
    assert main(["predict", *mixed_inputs, *FAST, "--save-dir", str(out), "--save-json", str(js)]) == 2
    assert one_line(capsys.readouterr().err) == "yolo9000: error: clip.mp4: the disk caught fire"
    assert not out.exists() and not js.exists()


def test_interrupt_without_outputs(monkeypatch, mixed_inputs, capsys):
    interrupt_after(monkeypatch, 1, KeyboardInterrupt())
    assert main(["predict", *mixed_inputs, *FAST]) == 130
    assert one_line(capsys.readouterr().err) == "yolo9000: interrupted after 1 image; kept nothing (no outputs asked)"
