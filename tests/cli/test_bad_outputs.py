"""Outputs at the command line (project issue 22): no writer of any subcommand overwrites one of the command's own
inputs, replaces a FIFO or device, writes into a dataset's image or annotation folders, overwrites a file it did
not write in this run, or ends in a traceback when the disk refuses. Same contract and runner as
:mod:`tests.cli.test_bad_input`, whose helpers build the inputs; a case with ``outcome="ok"`` writes where it may
and checks what it wrote in ``post``. Faults of the disk itself (full, read-only) and a second Ctrl-C are
simulated below the table.
"""
from __future__ import annotations

import errno
import json
import os
import signal
import socket
import threading
from pathlib import Path

import pytest

from tests.cli.test_bad_input import (  # noqa: F401 - assets is the shared fixture
    NANO, Assets, Case, W, anchors, assets, benchmark, params, predict, run_case, run_cli, score, score_files, train,
    train_cls, val,
)
from yolo9000.cli import app


def fifo(w: W, rel: str = "pipe.json", read: bool = False) -> None:
    """A FIFO in the case folder; ``read``: a thread reads it to the end into ``w.got``."""
    os.mkfifo(w.p(rel))
    if read:
        w.got = []

        def reader() -> None:
            with open(w.p(rel), "rb") as f:
                w.got.append(f.read())

        w.reader = threading.Thread(target=reader, daemon=True)
        w.reader.start()


def fifo_got_json(w: W) -> None:
    w.reader.join(timeout=10)
    assert w.p("pipe.json").is_fifo()
    assert json.loads(w.got[0])["mAP"] == pytest.approx(1.0)


def pipe_behind_a_link(w: W, rel: str) -> None:
    """``rel`` -> /proc/self/fd/N, the write end of a pipe a thread reads (as /dev/stdout is when piped)."""
    r, wr = os.pipe()
    w.p(rel).symlink_to(f"/proc/self/fd/{wr}")
    w.got, w.fds = [], (r, wr)

    def reader() -> None:
        with os.fdopen(r, "rb") as f:
            w.got.append(f.read())

    w.reader = threading.Thread(target=reader, daemon=True)
    w.reader.start()


def pipe_got_json(w: W) -> None:
    os.close(w.fds[1])  # the command wrote and closed its own descriptor; the reader ends with ours
    w.reader.join(timeout=10)
    assert json.loads(w.got[0])["mAP"] == pytest.approx(1.0)


def unix_socket(w: W, rel: str = "sock.json") -> None:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(w.p(rel)))
    w.sock = s  # kept open for the case


def still_links_to(rel: str, target: str):  # noqa: ANN201
    def check(w: W) -> None:
        assert w.p(rel).is_symlink() and os.readlink(w.p(rel)) == target
    return check


def written_json(rel: str, key: str):  # noqa: ANN201
    def check(w: W) -> None:
        assert key in json.loads(w.p(rel).read_text())
    return check


LONG = "r" * 240 + ".json"  # 245 bytes: fits; its temporary name would not without shortening
TOO_LONG = "r" * 300 + ".json"

CASES: list[Case] = [
    # ---------------------------------------------------------------- an output that is one of the inputs
    Case("same/score-json-is-the-gt", lambda w: score(w, "--json", w.p("gt.json")), setup=score_files,
         names=lambda w: w.p("gt.json"), expect=("--json would overwrite", "an input")),
    Case("same/score-json-is-the-dets-through-a-symlink", lambda w: score(w, "--json", w.p("link.json")),
         setup=lambda w: (score_files(w), w.p("link.json").symlink_to("dets.json")),
         names=lambda w: w.p("link.json"), expect=("would overwrite",)),
    Case("same/score-json-is-the-gt-through-dotdot", lambda w: score(w, "--json", f"{w.p('sub')}/../gt.json"),
         setup=lambda w: (score_files(w), w.p("sub").mkdir()), expect=("would overwrite",)),
    Case("same/predict-save-json-is-the-image", lambda w: predict(w, w.p("pic.png"), extra=("--save-json",
                                                                                             w.p("pic.png"))),
         setup=lambda w: w.image("pic.png"), names=lambda w: w.p("pic.png"), expect=("--save-json would overwrite",)),
    Case("same/predict-save-json-is-the-weights", lambda w: predict(w, extra=("--save-json", w.a.weights)),
         names=lambda w: w.a.weights, expect=("would overwrite",)),
    Case("same/predict-save-json-is-the-names-file",
         lambda w: predict(w, extra=("--names", w.p("x.names"), "--save-json", w.p("x.names"))),
         setup=lambda w: w.write("x.names", "\n".join(f"c{i}" for i in range(20)) + "\n"),
         names=lambda w: w.p("x.names"), expect=("would overwrite",)),
    Case("same/predict-save-json-is-an-image-of-the-folder",
         lambda w: predict(w, w.p("pics"), extra=("--save-json", w.p("pics/a.jpg"))),
         setup=lambda w: w.image("pics/a.jpg"), names=lambda w: w.p("pics/a.jpg"), expect=("would overwrite",)),
    Case("same/val-json-is-the-data-yaml", lambda w: val(w, w.voc(), "--json", w.p("voc/data.yaml")),
         names=lambda w: w.p("voc/data.yaml"), expect=("--json would overwrite",)),
    Case("same/val-save-coco-is-the-split-list", lambda w: val(w, w.voc(), "--save-coco", w.p("voc/list.txt")),
         names=lambda w: w.p("voc/list.txt"), expect=("--save-coco would overwrite",)),
    Case("same/val-json-is-the-names-file-the-yaml-names",
         lambda w: val(w, w.voc(names="classes.names"), "--json", w.p("voc/classes.names")),
         setup=lambda w: w.write("voc/classes.names", "cat\n"),
         names=lambda w: w.p("voc/classes.names"), expect=("--json would overwrite",)),
    Case("same/anchors-plot-is-the-names-file-the-yaml-names",
         lambda w: anchors(w.voc(names="classes.names"), "--plot", w.p("voc/classes.names")),
         setup=lambda w: w.write("voc/classes.names", "cat\n"),
         names=lambda w: w.p("voc/classes.names"), expect=("would overwrite",)),
    Case("same/val-json-is-the-model", lambda w: val(w, w.voc(), "--json", w.a.det_cfg),
         names=lambda w: w.a.det_cfg, expect=("would overwrite",)),
    Case("same/val-json-and-save-coco-one-file",
         lambda w: val(w, w.voc(), "--json", w.p("out.json"), "--save-coco", w.p("out.json")),
         names=lambda w: w.p("out.json"), expect=("the same file",)),
    Case("same/convert-output-is-the-checkpoint",  # item 5: the run's own best.pt would lose its resume state
         lambda w: ["convert", "--model", w.a.pt, "--weights", w.a.pt, "-o", w.a.pt],
         names=lambda w: w.a.pt, expect=("-o would overwrite",)),
    Case("same/convert-output-is-the-weights-through-a-symlink",
         lambda w: ["convert", "--model", NANO, "--weights", w.a.weights, "-o", w.p("link.weights")],
         setup=lambda w: w.p("link.weights").symlink_to(w.a.weights), names=lambda w: w.p("link.weights"),
         expect=("would overwrite",)),
    Case("same/export-output-is-the-cfg", lambda w: ["export", "--model", w.a.det_cfg, "--imgsz", "64",
                                                     "-o", w.a.det_cfg],
         names=lambda w: w.a.det_cfg, expect=("would overwrite",)),
    Case("same/benchmark-json-is-the-image", lambda w: benchmark(w, "--image", w.p("x.jpg"), "--json", w.p("x.jpg")),
         setup=lambda w: w.image("x.jpg"), names=lambda w: w.p("x.jpg"), expect=("would overwrite",)),
    Case("same/anchors-json-is-the-data-yaml", lambda w: anchors(w.voc(), "--json", w.p("voc/data.yaml")),
         names=lambda w: w.p("voc/data.yaml"), expect=("would overwrite",)),
    Case("same/wordtree-output-is-the-wnids",
         lambda w: ["wordtree", "build", "--wnids", w.p("ids.txt"), "--wordnet", w.a.wordnet, "-o", w.p("ids.txt"),
                    "--names", w.p("t.names")],
         setup=lambda w: w.write("ids.txt", "n02084071\n"), names=lambda w: w.p("ids.txt"),
         expect=("would overwrite",)),

    Case("same/predict-save-json-is-a-hard-link-of-the-image",
         lambda w: predict(w, w.p("pic.png"), extra=("--save-json", w.p("hard.png"))),
         setup=lambda w: (w.image("pic.png"), os.link(w.p("pic.png"), w.p("hard.png"))),
         names=lambda w: w.p("hard.png"), expect=("would overwrite",)),
    Case("same/convert-output-is-a-hard-link-of-the-checkpoint",
         lambda w: ["convert", "--model", w.p("nano.pt"), "-o", w.p("hard.pt")],
         setup=lambda w: (w.write("nano.pt", w.a.pt.read_bytes()), os.link(w.p("nano.pt"), w.p("hard.pt"))),
         names=lambda w: w.p("hard.pt"), expect=("would overwrite",)),
    Case("same/wordtree-output-is-wordnets-data-noun",
         lambda w: ["wordtree", "build", "--wnids", w.p("ids.txt"), "--wordnet", w.p("wn"), "-o",
                    w.p("wn/data.noun"), "--names", w.p("t.names")],
         setup=lambda w: (w.write("ids.txt", "n02084071\n"), w.write("wn/data.noun", (w.a.wordnet / "data.noun")
                                                                          .read_text())),
         names=lambda w: w.p("wn/data.noun"), expect=("would overwrite",)),
    Case("same/predict-save-json-inside-save-dir",
         lambda w: predict(w, extra=("--save-dir", w.p("out"), "--save-json", w.p("out/image.jpg"))),
         names=lambda w: w.p("out/image.jpg"), expect=("inside --save-dir",)),
    Case("same/val-json-inside-save-dir",
         lambda w: val(w, w.voc(), "--weights", w.a.det_weights, "--save-dir", w.p("vout"), "--json",
                       w.p("vout/results.json")),
         names=lambda w: w.p("vout/results.json"), expect=("inside --save-dir",)),
    Case("old/predict-exist-ok-never-replaces-an-input",
         lambda w: predict(w, extra=("--names", w.p("out/labels/image.txt"), "--save-dir", w.p("out"), "--save-txt",
                                     "--conf", "0.0001", "--exist-ok")),
         setup=lambda w: w.write("out/labels/image.txt", "\n".join(f"c{i}" for i in range(20)) + "\n"),
         names=lambda w: w.p("out/labels/image.txt"), expect=("is an input of this command",)),
    Case("old/predict-labels-folder-is-a-symlink",
         lambda w: predict(w, extra=("--save-dir", w.p("out"), "--save-txt", "--conf", "0.0001")),
         setup=lambda w: (w.p("elsewhere").mkdir(), w.p("out").mkdir(), w.p("out/labels").symlink_to("../elsewhere")),
         names=lambda w: w.p("out/labels"), expect=("is a symlink where this run writes a folder",)),

    # ---------------------------------------------------------------- outputs that are not regular files
    Case("node/score-json-fifo-without-a-reader", lambda w: score(w, "--json", w.p("pipe.json")),
         setup=lambda w: (score_files(w), fifo(w)), names=lambda w: w.p("pipe.json"), expect=("FIFO",)),
    Case("node/score-json-fifo-with-a-reader", lambda w: score(w, "--json", w.p("pipe.json")),
         setup=lambda w: (score_files(w), fifo(w, read=True)), outcome="ok", post=fifo_got_json),
    Case("node/score-json-symlink-to-dev-null", lambda w: score(w, "--json", w.p("null.json")),
         setup=lambda w: (score_files(w), w.p("null.json").symlink_to("/dev/null")), outcome="ok",
         post=still_links_to("null.json", "/dev/null")),
    Case("node/predict-save-json-dev-null", lambda w: predict(w, extra=("--save-json", "/dev/null")), outcome="ok",
         post=lambda w: Path("/dev/null").is_char_device()),
    Case("node/score-json-symlink-to-a-new-file", lambda w: score(w, "--json", w.p("link.json")),
         setup=lambda w: (score_files(w), w.p("out").mkdir(), w.p("link.json").symlink_to("out/real.json")),
         outcome="ok", new_ok=("out/real.json",),
         post=lambda w: (still_links_to("link.json", "out/real.json")(w), written_json("out/real.json", "mAP")(w))),
    Case("node/score-json-a-pipe-as-dev-stdout-is", lambda w: score(w, "--json", w.p("fd.json")),
         setup=lambda w: (score_files(w), pipe_behind_a_link(w, "fd.json")), outcome="ok", post=pipe_got_json),
    Case("node/score-json-is-a-socket", lambda w: score(w, "--json", w.p("sock.json")),
         setup=lambda w: (score_files(w), unix_socket(w)), names=lambda w: w.p("sock.json"), expect=("socket",)),

    # ---------------------------------------------------------------- outputs inside a dataset, or over old files
    Case("data/val-save-dir-in-the-images-folder", lambda w: val(w, w.voc(), "--save-dir", w.p("voc/images/plots")),
         names=lambda w: w.p("voc/images/plots"), expect=("inside the dataset folder",)),
    Case("data/val-save-voc-is-the-annotations-folder",
         lambda w: val(w, w.voc(), "--save-voc", w.p("voc/annotations")),
         names=lambda w: w.p("voc/annotations"), expect=("inside the dataset folder",)),
    Case("data/val-save-coco-in-the-labels-folder",
         lambda w: val(w, w.yolo(), "--save-coco", w.p("yolo/labels/dets.json")),
         names=lambda w: w.p("yolo/labels/dets.json"), expect=("inside the dataset folder",)),
    Case("data/val-save-dir-in-the-other-split", lambda w: val(w, w.p("voc/data.yaml"), "--save-dir",
                                                              w.p("voc/trainimgs")),
         setup=lambda w: (w.voc(), w.image("voc/trainimgs/t.jpg"), w.write(
             "voc/data.yaml", "path: .\nformat: voc\ntrain: trainimgs\nval: list.txt\nnames: [cat]\n")),
         names=lambda w: w.p("voc/trainimgs"), expect=("inside the dataset folder",)),
    Case("data/train-project-in-the-images-folder", lambda w: train(w, w.voc())[:-2] + ["--project",
                                                                                      w.p("voc/images")],
         names=lambda w: w.p("voc/images/train"), expect=("inside the dataset folder",)),
    Case("data/train-project-in-the-yolo-labels", lambda w: train(w, w.yolo())[:-2] + ["--project",
                                                                                     w.p("yolo/labels/runs")],
         names=lambda w: w.p("yolo/labels/runs/train"), expect=("inside the dataset folder",)),
    Case("data/train-classifier-project-in-a-class-folder",
         lambda w: train_cls(w, w.imagefolder())[:-2] + ["--project", w.p("cls/train/a")],
         names=lambda w: w.p("cls/train/a"), expect=("inside the dataset folder",)),
    Case("data/val-save-dir-is-the-images-root-above-the-splits",
         lambda w: val(w, w.p("d/data.yaml"), "--save-dir", w.p("d/images")),
         setup=lambda w: (w.image("d/images/val/a.jpg"), w.write("d/labels/val/a.txt", "0 0.5 0.5 0.2 0.2\n"),
                          w.write("d/data.yaml", "path: .\nformat: yolo\ntrain: images/val\nval: images/val\n"
                                                 "names: [cat]\n")),
         names=lambda w: w.p("d/images"), expect=("inside the dataset folder",)),
    Case("data/anchors-plot-in-the-images-folder", lambda w: anchors(w.voc(), "--plot", w.p("voc/images/a.png")),
         names=lambda w: w.p("voc/images/a.png"), expect=("inside the dataset folder",)),
    Case("old/predict-save-dir-holds-a-file-of-that-name", lambda w: predict(w, extra=("--save-dir", w.p("mine"))),
         setup=lambda w: w.write("mine/image.jpg", b"the user's own picture"),
         names=lambda w: w.p("mine/image.jpg"), expect=("already exists", "not written by this run")),
    Case("old/predict-json-not-written-when-the-save-dir-is-refused",
         lambda w: predict(w, extra=("--save-dir", w.p("mine"), "--save-json", w.p("dets.json"))),
         setup=lambda w: w.write("mine/image.jpg", b"the user's own picture"),
         names=lambda w: w.p("mine/image.jpg"), post=lambda w: not w.p("dets.json").exists()),
    Case("old/val-save-dir-holds-old-plots", lambda w: val(w, w.voc(), "--weights", w.a.det_weights, "--save-dir", w.p("plots")),
         setup=lambda w: w.write("plots/pr_curves.png", b"an earlier run's plot"),
         names=lambda w: w.p("plots/pr_curves.png"), expect=("already exists",)),
    Case("old/val-save-voc-holds-old-files", lambda w: val(w, w.voc(), "--weights", w.a.det_weights, "--save-voc", w.p("comp4"),
                                                           "--save-coco", w.p("c.json")),
         setup=lambda w: w.write("comp4/comp4_det_test_cat.txt", "keep me\n"),
         names=lambda w: w.p("comp4/comp4_det_test_cat.txt"), expect=("already exists",)),
    Case("old/val-save-dir-new-folder", lambda w: val(w, w.voc(), "--weights", w.a.det_weights, "--save-dir", w.p("plots")), outcome="ok",
         new_ok=("plots",), post=written_json("plots/results.json", "mAP")),

    # ---------------------------------------------------------------- names near the file system's limit
    Case("name/score-json-long-name", lambda w: score(w, "--json", w.p(LONG)), setup=score_files, outcome="ok",
         new_ok=(LONG,), post=written_json(LONG, "mAP")),
    Case("name/score-json-too-long", lambda w: score(w, "--json", w.p(TOO_LONG)), setup=score_files,
         expect=("305 bytes", "255")),
    Case("name/predict-save-dir-too-long", lambda w: predict(w, extra=("--save-dir", w.p("x" * 256))),
         expect=("256 bytes",)),
]

DEFECTS: dict[str, str] = {}


@pytest.mark.parametrize("case", params(CASES, DEFECTS))
def test_bad_output(case: Case, assets: Assets, tmp_path: Path, monkeypatch, capfd) -> None:  # noqa: F811
    run_case(case, assets, tmp_path, monkeypatch, capfd)


# ------------------------------------------------------------------------------------------ the disk refuses
def _refuse(code: int):  # noqa: ANN202
    def fail(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(code, os.strerror(code))
    return fail


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_disk_full_or_read_only_is_one_line(code: int, assets: Assets, tmp_path: Path, monkeypatch,  # noqa: F811
                                            capfd) -> None:
    """Writing the annotated image fails as on a full or read-only disk: one line naming the file under its final
    name; no JSON, no folder and no temporary file are left."""
    w = W(tmp_path, assets)
    monkeypatch.setattr(os, "fsync", _refuse(code))
    rc, out, err = run_cli(predict(w, extra=("--save-dir", w.p("out"), "--save-json", w.p("dets.json"))), capfd)
    assert rc == 2 and err.splitlines() == [
        f"yolo9000: error: {w.p('out') / 'image.jpg'}: cannot write ({os.strerror(code)})"], err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_read_only_run_folder_is_one_line(assets: Assets, tmp_path: Path, monkeypatch, capfd) -> None:  # noqa: F811
    """A folder that cannot be made (read-only disk) for --save-dir: one line naming it, nothing left."""
    w = W(tmp_path, assets)
    monkeypatch.setattr("tempfile.mkdtemp", _refuse(errno.EROFS))
    rc, out, err = run_cli(predict(w, extra=("--save-dir", w.p("out"))), capfd)
    assert rc == 2 and err.splitlines() == [f"yolo9000: error: {w.p('out')}: cannot write (Read-only file system)"]


def test_a_second_ctrl_c_keeps_images_and_json_together(assets: Assets, tmp_path: Path, monkeypatch,  # noqa: F811
                                                        capfd) -> None:
    """A Ctrl-C that lands while the outputs are moved into place is held until both are there."""
    w = W(tmp_path, assets)
    real_write_json = app.write_json

    def interrupted_write(*a, **k):  # noqa: ANN002, ANN003, ANN202
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C while the JSON is written
        return real_write_json(*a, **k)

    monkeypatch.setattr(app, "write_json", interrupted_write)
    rc, out, err = run_cli(predict(w, extra=("--save-dir", w.p("out"), "--save-json", w.p("dets.json"))), capfd)
    assert rc == 130, err
    assert "interrupted" in err and "kept" in err
    assert (w.p("out") / "image.jpg").is_file()
    assert json.loads(w.p("dets.json").read_text()) is not None
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_train_on_a_full_disk_is_one_line(assets: Assets, tmp_path: Path, monkeypatch, capfd) -> None:  # noqa: F811
    """Every write of a training run fails as on a full disk: one line naming the file; the run, which stopped
    before its first checkpoint, leaves no folder (a retry gets the same name) and no temporary."""
    w = W(tmp_path, assets)
    monkeypatch.setattr(os, "fsync", _refuse(errno.ENOSPC))
    rc, out, err = run_cli(train(w, w.voc()), capfd)
    lines = [x for x in err.splitlines() if x.startswith("yolo9000: ")]
    assert rc == 2 and len(lines) == 1 and lines[0].endswith(": cannot write (No space left on device)"), err
    assert lines[0].startswith(f"yolo9000: error: {w.p('runs')}/"), err
    assert not w.p("runs").exists()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_a_full_disk_after_the_first_checkpoint_keeps_the_run_to_resume(assets: Assets, tmp_path: Path,  # noqa: F811
                                                                       monkeypatch, capfd) -> None:
    """The disk fills once epoch 1's last.pt is written: one line; that checkpoint stays as it was, and the run
    resumes from it."""
    w = W(tmp_path, assets)
    real_fsync, last, kept = os.fsync, w.p("runs/train/weights/last.pt"), []

    def fsync(fd: int) -> None:
        if last.exists():
            kept.append(last.read_bytes())
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    rc, out, err = run_cli(train(w, w.voc(), "--epochs", "2"), capfd)
    assert rc == 2 and err.splitlines()[-1].endswith("cannot write (No space left on device)"), err
    assert last.read_bytes() == kept[0]
    monkeypatch.setattr(os, "fsync", real_fsync)
    rc, out, err = run_cli(train(w, w.voc(), "--epochs", "2", "--resume", "--name", "train"), capfd)
    assert rc == 0, err
    assert "epoch 2/2" in out and "epoch 1/2" not in out


def test_train_on_a_read_only_disk_is_one_line(assets: Assets, tmp_path: Path, monkeypatch, capfd) -> None:  # noqa: F811
    """The run folder cannot be made (a read-only disk): one line naming it, and nothing made."""
    w = W(tmp_path, assets)
    data = w.voc()
    real_mkdir = os.mkdir

    def mkdir(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if str(path).startswith(str(w.p("runs"))):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    rc, out, err = run_cli(train(w, data), capfd)
    assert rc == 2 and err.splitlines()[-1].startswith(f"yolo9000: error: {w.p('runs')}"), err
    assert err.splitlines()[-1].endswith("cannot write (Read-only file system)"), err
    assert len([x for x in err.splitlines() if x.startswith("yolo9000: ")]) == 1, err
    assert not w.p("runs").exists()


@pytest.mark.parametrize("study", [False, True], ids=["anchors", "study"])
def test_anchors_on_a_full_disk_is_one_line_and_no_table(study: bool, assets: Assets, tmp_path: Path,  # noqa: F811
                                                         monkeypatch, capfd) -> None:
    """The files are written before the table is printed: a disk that refuses them is the one line of the run."""
    w = W(tmp_path, assets)
    data = w.voc()
    monkeypatch.setattr(os, "fsync", _refuse(errno.ENOSPC))
    rc, out, err = run_cli(anchors(data, "--json", w.p("a.json"), *(["--study"] if study else [])), capfd)
    assert rc == 2 and out == "" and err.splitlines() == [
        f"yolo9000: error: {w.p('a.json')}: cannot write (No space left on device)"], (out, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["voc"]
