"""Output files: atomic, with the user's permissions, never NaN, all-or-nothing folders."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from yolo9000.errors import Yolo9000Error
from yolo9000.fileio import (
    atomic_write, check_output_dir, check_output_file, first_non_finite, staged_folder, write_json,
)


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "keep.weights"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as f:
            f.write(b"partial")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.weights"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_atomic_write_follows_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        with atomic_write(tmp_path / "out.json", "w") as f:
            f.write("{}")
        plain = tmp_path / "plain.txt"
        plain.write_text("x")  # how Python's own open() honours the umask
    finally:
        os.umask(old)
    assert (tmp_path / "out.json").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "out.json").stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


def test_stale_temp_of_a_killed_write_is_removed(tmp_path: Path) -> None:
    stale = tmp_path / ".out.json.k1ll3d.tmp"
    stale.write_text('{"half": ')
    other = tmp_path / ".other.json.abc.tmp"  # another file's temp: not ours to remove
    other.write_text("x")
    write_json({"a": 1}, tmp_path / "out.json")
    assert not stale.exists()
    assert other.exists()
    assert json.loads((tmp_path / "out.json").read_text()) == {"a": 1}


def test_atomic_write_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(Yolo9000Error, match="is a directory"):
        with atomic_write(tmp_path, "w"):
            pass


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_write_json_refuses_non_finite_numbers(tmp_path: Path, bad: float) -> None:
    out = tmp_path / "dets.json"
    obj = [{"image": "a.jpg", "score": 0.5, "xyxy": [1.0, 2.0, bad, 4.0]}]
    assert first_non_finite(obj) == "$[0].xyxy[2]"
    with pytest.raises(Yolo9000Error, match=r"dets.json: refusing to write a non-finite number .* at \$\[0\]\.xyxy\[2\]"):
        write_json(obj, out)
    assert list(tmp_path.iterdir()) == []


def test_write_json_is_strict_json(tmp_path: Path) -> None:
    out = write_json({"mAP": 0.5, "per_class": {"a": None}, "n": [1, 2]}, tmp_path / "r.json")
    assert json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"non-standard {c}")) == \
        {"mAP": 0.5, "per_class": {"a": None}, "n": [1, 2]}


def test_output_path_checks(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(Yolo9000Error, match="is a directory; --json must be a file name"):
        check_output_file(tmp_path, "--json")
    with pytest.raises(Yolo9000Error, match="file.txt: is a file; --save-dir must be a folder"):
        check_output_dir(tmp_path / "file.txt", "--save-dir")
    check_output_file(tmp_path / "new.json")
    check_output_dir(tmp_path / "new")
    check_output_file(None)
    check_output_dir(None)


def test_staged_folder_all_or_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with staged_folder(out) as stage:
            (stage / "a.jpg").write_bytes(b"1")
            raise RuntimeError("the third input is corrupt")
    assert not out.exists()  # created by the failed run, so removed with it

    out.mkdir()
    (out / "earlier.jpg").write_bytes(b"keep")
    with pytest.raises(RuntimeError):
        with staged_folder(out) as stage:
            (stage / "a.jpg").write_bytes(b"1")
            raise RuntimeError("boom")
    assert sorted(p.name for p in out.iterdir()) == ["earlier.jpg"]  # the user's folder stays, untouched

    with staged_folder(out) as stage:
        (stage / "a.jpg").write_bytes(b"1")
        (stage / "b.jpg").write_bytes(b"2")
        assert not (out / "a.jpg").exists()  # nothing under its final name before the end
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "b.jpg", "earlier.jpg"]


def test_staged_folder_removes_a_killed_runs_staging(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / ".yolo9000-partial-dead").mkdir(parents=True)
    (out / ".yolo9000-partial-dead" / "x.jpg").write_bytes(b"half")
    with staged_folder(out) as stage:
        (stage / "a.jpg").write_bytes(b"1")
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg"]


def test_removed_on_error_takes_only_what_it_created(tmp_path: Path) -> None:
    from yolo9000.fileio import removed_on_error

    run = tmp_path / "runs" / "exp"
    with pytest.raises(RuntimeError):
        with removed_on_error(run):
            (run / "weights").mkdir(parents=True)
            raise RuntimeError("the data could not be read")
    assert not (tmp_path / "runs").exists()  # the project folder too: it was made by the failed start
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "other").mkdir()
    with pytest.raises(RuntimeError):
        with removed_on_error(run):
            run.mkdir()
            raise RuntimeError("boom")
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["other"]
    with removed_on_error(run):
        run.mkdir()
    assert run.is_dir()


def test_check_outputs_refuses_inputs_duplicates_and_data_folders(tmp_path: Path) -> None:
    from yolo9000.fileio import check_outputs

    gt = tmp_path / "gt.json"
    gt.write_text("{}")
    (tmp_path / "link.json").symlink_to(gt)
    (tmp_path / "sub").mkdir()
    images = tmp_path / "data" / "images"
    images.mkdir(parents=True)
    for out in (gt, tmp_path / "link.json", tmp_path / "sub" / ".." / "gt.json"):
        with pytest.raises(Yolo9000Error, match=r"--json would overwrite .*gt\.json, an input"):
            check_outputs({"--json": out}, reads=[gt, "yolov2-voc", None])
    with pytest.raises(Yolo9000Error, match="--b and --a name the same file"):
        check_outputs({"--a": tmp_path / "x.json", "--b": tmp_path / "sub" / ".." / "x.json"})
    with pytest.raises(Yolo9000Error, match="inside the dataset folder"):
        check_outputs({"--json": images / "x.json"}, data_folders=[images])
    with pytest.raises(Yolo9000Error, match="inside the dataset folder"):
        check_outputs(folders={"--save-dir": images / "plots"}, data_folders=[images])
    with pytest.raises(Yolo9000Error, match="holds .*gt.json, an input"):
        check_outputs(folders={"--save-dir": tmp_path}, reads=[gt])
    with pytest.raises(Yolo9000Error, match="is .*data, an input"):
        check_outputs(folders={"--save-dir": tmp_path / "data"}, reads=[tmp_path / "data"])
    check_outputs({"--json": tmp_path / "new.json"}, {"--save-dir": tmp_path / "out"}, reads=[gt],
                  data_folders=[images])  # none of the above: accepted, nothing made
    assert not (tmp_path / "out").exists() and not (tmp_path / "new.json").exists()


def test_atomic_write_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    (tmp_path / "real.json").write_text("old")
    (tmp_path / "link.json").symlink_to("real.json")
    write_json({"a": 1}, tmp_path / "link.json")
    assert (tmp_path / "link.json").is_symlink()
    assert json.loads((tmp_path / "real.json").read_text()) == {"a": 1}


def test_atomic_write_into_a_character_device(tmp_path: Path) -> None:
    write_json({"a": 1}, "/dev/null")
    assert Path("/dev/null").is_char_device()
    assert list(tmp_path.iterdir()) == []


def test_temporary_name_of_a_long_file_name_fits(tmp_path: Path) -> None:
    from yolo9000.fileio import _temp_prefix

    name = "x" * 250 + ".json"
    assert len(os.fsencode(_temp_prefix(name))) + 16 <= 255
    assert _temp_prefix("short.json") == ".short.json."
    write_json([1], tmp_path / name)
    assert json.loads((tmp_path / name).read_text()) == [1]
    with pytest.raises(Yolo9000Error, match="256 bytes long"):
        check_output_file(tmp_path / ("y" * 256))


def test_staged_folder_refuses_a_file_it_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.jpg").write_bytes(b"the user's")
    with pytest.raises(Yolo9000Error, match=r"a\.jpg: already exists in --save-dir \(and 1 more\)"):
        with staged_folder(out, "--save-dir") as stage:
            (stage / "a.jpg").write_bytes(b"ours")
            (stage / "labels").mkdir()
            (stage / "labels" / "a.txt").write_text("0 1 2 3 4\n")
            (out / "labels").mkdir()
            (out / "labels" / "a.txt").write_text("theirs\n")
            (stage / "b.jpg").write_bytes(b"new")
    assert (out / "a.jpg").read_bytes() == b"the user's" and not (out / "b.jpg").exists()
    assert (out / "labels" / "a.txt").read_text() == "theirs\n"
    with staged_folder(out, "--save-dir", exist_ok=True) as stage:
        (stage / "a.jpg").write_bytes(b"ours")
    assert (out / "a.jpg").read_bytes() == b"ours"


def test_held_interrupts_note_a_ctrl_c_and_restore_the_handler() -> None:
    import signal

    from yolo9000.fileio import HeldInterrupts

    before = signal.getsignal(signal.SIGINT)
    with HeldInterrupts() as held:
        held.hold()
        os.kill(os.getpid(), signal.SIGINT)  # no KeyboardInterrupt while held
        assert held.interrupted
    assert signal.getsignal(signal.SIGINT) is before
    with pytest.raises(KeyboardInterrupt):
        with HeldInterrupts():  # not holding: Ctrl-C is Ctrl-C
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):
                pass
