"""Darknet's weights by name (yolo9000.darknet.hub): the table, the download cache, the CLI, the random-weights warning.

Every download here goes to a loopback HTTP server (127.0.0.1, a free port) serving a temporary folder;
the table is swapped for one entry, yolov2-nano.weights, a real darknet file written by ``YOLO.save``
(11 MB), so nothing leaves the machine and no 200 MB file is served.
"""
from __future__ import annotations

import http.server
import socket
import threading
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

from yolo9000 import YOLO, Yolo9000Error
from yolo9000.darknet import hub
from yolo9000.api import RandomWeightsWarning
from yolo9000.cli.app import main
from yolo9000.models import ZOO, Darknet, darknet_float_count, zoo_config
from yolo9000.models.darknet import conv_blocks

NANO = "yolov2-nano"
NANO_FILE = "yolov2-nano.weights"
NANO_FLOATS = 2_789_557  # tests/models/test_darknet.py
NANO_ENTRY = hub.WeightsFile(NANO_FILE, 20 + 4 * NANO_FLOATS, 20, NANO)

# sizes quoted for the real files (see the comment above hub.WEIGHTS for where)
QUOTED = {"yolov2-voc.weights": 202_704_264, "yolov2.weights": 203_934_260, "yolov2-tiny-voc.weights": 63_471_556,
          "yolov2-tiny.weights": 44_948_600, "darknet19_448.conv.23": 79_327_120}


# ------------------------------------------------------------------------------------------ the server
class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the folder; ``server.faults[name] = ("short", n)`` sends only n bytes and no Content-Length,
    ``("drop", n)`` announces the whole file and closes after n bytes."""

    def log_message(self, format, *args) -> None:  # noqa: A002 - keep stderr for the CLI's lines
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        name = self.path.rsplit("/", 1)[-1]
        fault = self.server.faults.get(name)  # type: ignore[attr-defined]
        if fault is None:
            return super().do_GET()
        kind, n = fault
        data = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if kind == "drop":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:n])
        self.wfile.flush()
        self.close_connection = True


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        """A client that stops reading (the downloader refusing a file early) is not an error here."""


@dataclass
class Server:
    folder: Path                      # what is served, at <url>/<name>
    url: str
    httpd: _QuietServer
    requests: list[str] = field(default_factory=list)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch) -> Path:
    """Every test: a private cache, no proxies, and a base URL on a closed local port unless a server is up."""
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("YOLO9000_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("YOLO9000_WEIGHTS_URL", f"http://127.0.0.1:{_free_port()}/nothing")
    return tmp_path / "home" / "weights"


@pytest.fixture(scope="module")
def nano_bytes(tmp_path_factory) -> bytes:
    """A real yolov2-nano darknet file (20-byte header, random weights)."""
    torch.manual_seed(0)
    path = YOLO(NANO).save(tmp_path_factory.mktemp("nano") / NANO_FILE)
    data = path.read_bytes()
    assert len(data) == NANO_ENTRY.size
    return data


@pytest.fixture
def table(monkeypatch) -> tuple[hub.WeightsFile, ...]:
    t = (NANO_ENTRY,)
    monkeypatch.setattr(hub, "WEIGHTS", t)
    return t


@pytest.fixture
def server(tmp_path: Path, monkeypatch, nano_bytes: bytes, table) -> Server:
    root = tmp_path / "served"
    (root / "mirror").mkdir(parents=True)
    (root / "mirror" / NANO_FILE).write_bytes(nano_bytes)
    httpd = _QuietServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    srv = Server(root / "mirror", f"http://127.0.0.1:{httpd.server_port}/mirror", httpd)
    httpd.requests = srv.requests  # type: ignore[attr-defined]
    httpd.faults = {}  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("YOLO9000_WEIGHTS_URL", srv.url + "/")  # a trailing slash is fine
    yield srv
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _cache_listing(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.is_dir() else []


def _one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg
    return msg


# ------------------------------------------------------------------------------------------ the table
def _floats(model: str, convs: int | None) -> int:
    net = Darknet(zoo_config(model))
    if convs is None:
        return darknet_float_count(net)
    total = 0
    for block in conv_blocks(net)[:convs]:
        total += block.conv.weight.numel()
        total += 4 * block.bn.num_features if block.bn is not None else block.conv.bias.numel()
    return total


def test_table_sizes_are_header_plus_four_bytes_per_darknet_float() -> None:
    names = [e.name for e in hub.WEIGHTS]
    assert len(set(names)) == len(names)
    assert {"yolov2-voc.weights", "yolov2.weights", "yolov2-tiny-voc.weights", "yolov2-tiny.weights",
            "yolo9000.weights", "darknet19.weights", "darknet19_448.weights", "darknet19_448.conv.23"} <= set(names)
    floats: dict[tuple[str, int | None], int] = {}
    for e in hub.WEIGHTS:
        assert e.model in ZOO, e
        assert e.header_bytes in (16, 20), e
        key = (e.model, e.convs)
        if key not in floats:
            floats[key] = _floats(*key)
        assert e.size == e.header_bytes + 4 * floats[key], e
        assert e.floats == floats[key]
        assert e.url(hub.BASE_URL) == f"https://pjreddie.com/media/files/{e.name}"
    # the prefix file: Darknet-19 without its 1000-way head (1024 x 1000 weights + 1000 biases)
    assert floats[("darknet19-448", 18)] == floats[("darknet19-448", None)] - 1024 * 1000 - 1000


def test_table_pins_the_quoted_sizes() -> None:
    by_name = {e.name: e for e in hub.WEIGHTS}
    for name, size in QUOTED.items():
        assert by_name[name].size == size and by_name[name].confirmed, name
    for e in hub.WEIGHTS:  # the others are derived, and say so
        assert e.confirmed == (e.name in QUOTED), e
        assert e.sizes == ((e.size,) if e.confirmed else (16 + 4 * e.floats, 20 + 4 * e.floats))


def test_cache_location_and_mirror_follow_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("YOLO9000_HOME")
    monkeypatch.delenv("YOLO9000_WEIGHTS_URL")
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    assert hub.cache_dir() == tmp_path / "me" / ".cache" / "yolo9000" / "weights"
    assert hub.base_url() == "https://pjreddie.com/media/files"
    assert NANO_ENTRY.url() == f"https://pjreddie.com/media/files/{NANO_FILE}"
    monkeypatch.setenv("YOLO9000_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("YOLO9000_WEIGHTS_URL", "http://mirror.example/darknet/")
    assert hub.cache_dir() == tmp_path / "elsewhere" / "weights"
    assert NANO_ENTRY.url() == f"http://mirror.example/darknet/{NANO_FILE}"


# ------------------------------------------------------------------------------------------ downloading
def test_first_call_downloads_later_calls_use_the_cache(server: Server, offline: Path, nano_bytes: bytes) -> None:
    path = hub.resolve_weights(NANO_FILE)
    assert path == offline / NANO_FILE
    assert path.read_bytes() == nano_bytes
    assert server.requests == [f"/mirror/{NANO_FILE}"]
    assert _cache_listing(offline) == [NANO_FILE]  # no temporary left beside it
    server.stop()
    assert hub.resolve_weights(NANO_FILE) == path  # no network: the server is gone
    assert len(server.requests) == 1


def test_yolo_loads_the_downloaded_file(server: Server, nano_bytes: bytes, tmp_path: Path) -> None:
    yolo = YOLO(NANO, weights=NANO_FILE)
    src = tmp_path / "source.weights"
    src.write_bytes(nano_bytes)
    expected = YOLO(NANO, weights=src)
    for (k, a), b in zip(yolo.model.state_dict().items(), expected.model.state_dict().values()):
        assert torch.equal(a, b), k


def test_a_local_file_of_that_name_wins(server: Server, tmp_path: Path, monkeypatch, nano_bytes: bytes,
                                        offline: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / NANO_FILE).write_bytes(nano_bytes)
    monkeypatch.chdir(work)
    assert hub.resolve_weights(NANO_FILE) == Path(NANO_FILE)
    assert server.requests == [] and _cache_listing(offline) == []


def test_a_table_can_be_passed(tmp_path: Path, monkeypatch, nano_bytes: bytes, offline: Path) -> None:
    """resolve_weights(table=...) looks names up there; the default table does not know the name."""
    root = tmp_path / "srv"
    root.mkdir()
    (root / NANO_FILE).write_bytes(nano_bytes)
    monkeypatch.setenv("YOLO9000_WEIGHTS_URL", root.as_uri())  # urllib reads file:// mirrors too
    with pytest.raises(Yolo9000Error, match="no such weights file"):
        hub.resolve_weights(NANO_FILE)
    assert hub.resolve_weights(NANO_FILE, table=(NANO_ENTRY,)) == offline / NANO_FILE


def test_wrong_size_is_one_line_with_url_and_hand_path_and_leaves_nothing(server: Server, offline: Path,
                                                                          nano_bytes: bytes) -> None:
    (server.folder / NANO_FILE).write_bytes(nano_bytes[: len(nano_bytes) // 2])
    with pytest.raises(Yolo9000Error) as e:
        hub.resolve_weights(NANO_FILE)
    msg = _one_line(e)
    assert f"{server.url}/{NANO_FILE}" in msg
    assert f"by hand to {offline / NANO_FILE}" in msg
    assert f"{len(nano_bytes) // 2:,} bytes" in msg and f"{NANO_ENTRY.size:,}" in msg
    assert _cache_listing(offline) == []


def test_short_body_without_length_is_refused_after_the_copy(server: Server, offline: Path) -> None:
    server.httpd.faults[NANO_FILE] = ("short", 5_000_000)  # type: ignore[attr-defined]
    with pytest.raises(Yolo9000Error) as e:
        hub.resolve_weights(NANO_FILE)
    msg = _one_line(e)
    assert "got 5,000,000 bytes" in msg and str(offline / NANO_FILE) in msg
    assert _cache_listing(offline) == []


def test_connection_dropped_midway_leaves_nothing(server: Server, offline: Path) -> None:
    server.httpd.faults[NANO_FILE] = ("drop", 3_000_000)  # type: ignore[attr-defined]
    with pytest.raises(Yolo9000Error) as e:
        hub.resolve_weights(NANO_FILE)
    msg = _one_line(e)
    assert msg.startswith(f"could not download {server.url}/{NANO_FILE}: ")
    assert _cache_listing(offline) == []


def test_a_page_instead_of_weights_is_refused_by_its_header(server: Server, offline: Path) -> None:
    page = b"<!DOCTYPE html><html><body>moved</body></html>"
    (server.folder / NANO_FILE).write_bytes(page + b" " * (NANO_ENTRY.size - len(page)))  # even the right size
    with pytest.raises(Yolo9000Error) as e:
        hub.resolve_weights(NANO_FILE)
    assert "not a darknet .weights file" in _one_line(e)
    assert _cache_listing(offline) == []


def test_http_error_names_the_status(server: Server, offline: Path) -> None:
    (server.folder / NANO_FILE).unlink()
    with pytest.raises(Yolo9000Error) as e:
        hub.resolve_weights(NANO_FILE)
    msg = _one_line(e)
    assert "HTTP 404" in msg and f"{server.url}/{NANO_FILE}" in msg and str(offline / NANO_FILE) in msg
    assert _cache_listing(offline) == []


def test_server_down_is_one_line(table, offline: Path, monkeypatch) -> None:
    url = f"http://127.0.0.1:{_free_port()}/files"
    monkeypatch.setenv("YOLO9000_WEIGHTS_URL", url)
    with pytest.raises(Yolo9000Error) as e:
        hub.resolve_weights(NANO_FILE)
    msg = _one_line(e)
    assert msg.startswith(f"could not download {url}/{NANO_FILE}: ")
    assert f"by hand to {offline / NANO_FILE}" in msg and "YOLO9000_WEIGHTS_URL" in msg
    assert _cache_listing(offline) == []


def test_unconfirmed_entry_accepts_either_header_a_confirmed_one_does_not(server: Server, offline: Path,
                                                                          monkeypatch) -> None:
    # the served file has darknet's 20-byte header; these entries were derived with the 16-byte one
    guessed = hub.WeightsFile(NANO_FILE, 16 + 4 * NANO_FLOATS, 16, NANO, confirmed=False)
    assert hub.resolve_weights(NANO_FILE, table=(guessed,)) == offline / NANO_FILE
    (offline / NANO_FILE).unlink()
    strict = hub.WeightsFile(NANO_FILE, 16 + 4 * NANO_FLOATS, 16, NANO)
    with pytest.raises(Yolo9000Error, match=f"{NANO_ENTRY.size:,} bytes"):
        hub.resolve_weights(NANO_FILE, table=(strict,))
    assert _cache_listing(offline) == []


def test_a_cached_file_of_the_wrong_size_is_refused_not_replaced(server: Server, offline: Path,
                                                                 nano_bytes: bytes, capsys) -> None:
    offline.mkdir(parents=True)
    (offline / NANO_FILE).write_bytes(nano_bytes[:1000])
    with pytest.raises(Yolo9000Error) as e:
        hub.resolve_weights(NANO_FILE)
    msg = _one_line(e)
    assert msg.startswith(f"{offline / NANO_FILE}: ") and "1,000 bytes" in msg
    assert f"yolo9000 download {NANO_FILE} --force" in msg
    assert (offline / NANO_FILE).read_bytes() == nano_bytes[:1000] and server.requests == []
    assert main(["download", NANO_FILE, "--force"]) == 0
    assert capsys.readouterr().out == f"{offline / NANO_FILE}\n"
    assert (offline / NANO_FILE).read_bytes() == nano_bytes


def test_a_file_for_another_network_is_refused_before_downloading(server: Server, offline: Path) -> None:
    with pytest.raises(Yolo9000Error) as e:
        YOLO("yolov2-nano16", weights=NANO_FILE)
    msg = _one_line(e)
    assert f"holds {NANO_FLOATS:,} floats" in msg and "reads 706,613" in msg and f"the {NANO} model" in msg
    assert server.requests == [] and _cache_listing(offline) == []


def test_unknown_weights_names_keep_the_error_and_list_the_downloadable(table) -> None:
    with pytest.raises(Yolo9000Error) as e:
        hub.resolve_weights("models/yolov2-huge.weights")
    msg = _one_line(e)
    assert msg.startswith(f"{Path('models/yolov2-huge.weights')}: no such weights file")
    assert NANO_FILE in msg and "yolo9000 download --list" in msg
    with pytest.raises(Yolo9000Error, match="no such weights file"):
        YOLO(NANO, weights="yolov2-huge.weights")
    assert hub.resolve_weights("missing.pt") == Path("missing.pt")  # the checkpoint loader says it


def test_progress_bar_on_request_only(server: Server, offline: Path, capsys) -> None:
    hub.resolve_weights(NANO_FILE)  # stderr is not a terminal here: no bar
    assert capsys.readouterr().err == ""
    hub.download(NANO_ENTRY, force=True, progress=True)
    err = capsys.readouterr().err
    assert NANO_FILE in err and "B/s" in err


# ------------------------------------------------------------------------------------------ the CLI
def test_cli_download_list_and_cache(server: Server, offline: Path, capsys) -> None:
    assert main(["download", "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "bytes", "model", "url"]
    assert out[1].split() == [NANO_FILE, f"{NANO_ENTRY.size:,}", NANO, f"{server.url}/{NANO_FILE}"]
    assert main(["download", NANO_FILE]) == 0
    assert capsys.readouterr().out == f"{offline / NANO_FILE}\n"
    server.stop()
    assert main(["download", "yolov2-nano"]) == 0  # the name without .weights; from the cache
    assert capsys.readouterr().out == f"{offline / NANO_FILE}\n"


def test_cli_download_errors_are_one_line(table, capsys) -> None:
    for argv, needle in ((["download", "bogus.weights"], "'bogus.weights' is not one of darknet's files"),
                         (["download"], "--list"),
                         (["download", NANO_FILE], "could not download")):
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert len(captured.err.splitlines()) == 1 and captured.err.startswith("yolo9000: error: ")
        assert needle in captured.err


@pytest.fixture
def image(tmp_path: Path) -> Path:
    from PIL import Image

    p = tmp_path / "img.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(p)
    return p


def test_cli_predict_with_a_weights_name(server: Server, offline: Path, image: Path, capsys) -> None:
    argv = ["predict", str(image), "--model", NANO, "--weights", NANO_FILE, "--imgsz", "64", "--quiet",
            "--device", "cpu"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert err.startswith("1 image, ") and "warning" not in err
    assert (offline / NANO_FILE).is_file()
    server.stop()
    assert main(argv) == 0  # from the cache
    assert capsys.readouterr().err.startswith("1 image, ")


def test_cli_predict_offline_is_one_error_line(table, offline: Path, image: Path, capsys) -> None:
    rc = main(["predict", str(image), "--model", NANO, "--weights", NANO_FILE, "--imgsz", "64", "--quiet",
               "--device", "cpu"])
    captured = capsys.readouterr()
    assert rc == 2 and captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("yolo9000: error: could not download ") and f"by hand to {offline / NANO_FILE}" in line


def test_cli_predict_random_weights_warns_once(image: Path, capsys) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["predict", str(image), "--model", NANO, "--imgsz", "64", "--quiet", "--device", "cpu"]) == 0
    lines = capsys.readouterr().err.splitlines()
    warned = [x for x in lines if "random weights" in x]
    assert len(warned) == 1 and warned[0].startswith(f"yolo9000: warning: {NANO}: no weights given")
    assert any(x.startswith("1 image, ") for x in lines)


# ------------------------------------------------------------------------------------------ the API warning
def _random_weight_warnings(fn) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [w for w in caught if issubclass(w.category, RandomWeightsWarning)]


def test_api_warns_once_when_a_network_without_weights_predicts(tmp_path: Path) -> None:
    arr = np.zeros((64, 64, 3), np.uint8)
    yolo = YOLO(NANO, device="cpu")
    assert issubclass(RandomWeightsWarning, UserWarning)
    assert _random_weight_warnings(lambda: None) == []
    (w,) = _random_weight_warnings(lambda: yolo.predict(arr, imgsz=64))
    assert "\n" not in str(w.message) and str(w.message).startswith(f"{NANO}: no weights given")
    assert Path(w.filename).name == Path(__file__).name  # points at the caller's predict
    assert _random_weight_warnings(lambda: yolo.predict(arr, imgsz=64)) == []  # once per object
    with pytest.warns(UserWarning, match="random weights"):
        YOLO(NANO, device="cpu").predict(arr, imgsz=64)


def test_a_zoo_name_brings_its_published_weights(server: Server, offline: Path, nano_bytes: bytes,
                                                 tmp_path: Path) -> None:
    """YOLO(name) with no weights: darknet's file for that network, downloaded once into the cache, and no
    random-weights warning; the same network as YOLO(name, weights=<that file>)."""
    arr = np.zeros((64, 64, 3), np.uint8)
    yolo = YOLO(NANO, device="cpu")
    assert _random_weight_warnings(lambda: yolo.predict(arr, imgsz=64)) == []
    assert (offline / NANO_FILE).read_bytes() == nano_bytes and server.requests == [f"/mirror/{NANO_FILE}"]
    local = tmp_path / NANO_FILE
    local.write_bytes(nano_bytes)
    expected = YOLO(NANO, weights=local, device="cpu")
    for a, b in zip(yolo.model.state_dict().values(), expected.model.state_dict().values()):
        assert torch.equal(a, b)
    YOLO(NANO, device="cpu")
    assert len(server.requests) == 1  # the cache serves the second


def test_random_weights_are_one_choice_away_and_offline_says_so(table, offline: Path, image: Path, capsys) -> None:
    """weights="random" (--weights random) starts from darknet's initialisation without a download or a
    warning; without it, an offline machine gets one line offering that choice."""
    arr = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(Yolo9000Error) as e:
        YOLO(NANO, device="cpu")
    line = _one_line(e)
    assert line.startswith("could not download ") and line.endswith(
        "or choose darknet's random initialisation with --weights random (weights='random')")
    torch.manual_seed(0)
    chosen = YOLO(NANO, weights="random", device="cpu")
    assert _random_weight_warnings(lambda: chosen.predict(arr, imgsz=64)) == [] and _cache_listing(offline) == []
    assert main(["predict", str(image), "--model", NANO, "--weights", "random", "--imgsz", "64", "--quiet",
                 "--device", "cpu"]) == 0
    (line,) = capsys.readouterr().err.splitlines()  # no warning
    assert line.startswith("1 image, ")


def test_training_a_zoo_name_starts_from_scratch_without_a_download(table, offline: Path, tmp_path: Path) -> None:
    """Training keeps its own default: a zoo name with published weights trains from darknet's
    initialisation unless --weights is given (offline, nothing is fetched, nothing fails)."""
    from yolo9000.datasets.shapes import make_shapes

    data = make_shapes(tmp_path / "shapes", n_train=4, n_val=2, size=64, seed=0)
    assert main(["train", "--data", str(data), "--model", NANO, "--epochs", "1", "--imgsz", "64", "--batch", "2",
                 "--workers", "0", "--no-multiscale", "--train-eval", "0", "--no-tensorboard", "--project",
                 str(tmp_path / "runs")]) == 0
    assert _cache_listing(offline) == []


def test_api_does_not_warn_with_weights_checkpoints_or_in_memory_networks(tmp_path: Path, nano_bytes: bytes) -> None:
    arr = np.zeros((64, 64, 3), np.uint8)
    weights = tmp_path / NANO_FILE
    weights.write_bytes(nano_bytes)
    ckpt = YOLO(NANO, weights=weights).save(tmp_path / "nano.pt")
    assert _random_weight_warnings(lambda: YOLO(NANO, weights=weights, device="cpu").predict(arr, imgsz=64)) == []
    assert _random_weight_warnings(lambda: YOLO(ckpt, device="cpu").predict(arr, imgsz=64)) == []
    net = Darknet(zoo_config(NANO))
    assert _random_weight_warnings(
        lambda: YOLO.from_module(net, net.config.names, device="cpu").predict(arr, imgsz=64)) == []


def test_copying_the_cache_by_hand_works(table, offline: Path, nano_bytes: bytes) -> None:
    """The path the errors name is the one later calls read: a file put there by hand is used offline."""
    offline.mkdir(parents=True)
    (offline / NANO_FILE).write_bytes(nano_bytes)
    assert hub.resolve_weights(NANO_FILE) == offline / NANO_FILE
