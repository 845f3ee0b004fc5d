"""Full and read-only disks for real (project issue 22, item 9): the command runs in a private mount namespace
over a small tmpfs that is filled to the last byte, or mounted read-only, so every writer meets the kernel's own
ENOSPC and EROFS -- torch's zip writer, OpenCV's encoder and the JSON writer included. Skipped where mounts are
not allowed (not root, no ``unshare``); the simulated faults of :mod:`tests.cli.test_bad_outputs` run everywhere.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_bad_input import W, assets, predict, score, score_files, train  # noqa: F401 - shared fixture


def _can_mount() -> bool:
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs \"$d\" && umount \"$d\"; "
                            "rc=$?; rmdir \"$d\"; exit $rc"], capture_output=True)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _can_mount(), reason="needs mount namespaces (root and unshare)")


def on_disk(mount: Path, argv: list[Any], mode: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """``yolo9000 argv`` with ``mount`` a fresh 1 MiB tmpfs, seen by this command only: ``full`` (a file takes
    every free byte first) or ``ro`` (mounted read-only). Returns the finished command and what it left on that
    disk (paths relative to ``mount``, sorted; ``mount`` is empty again afterwards)."""
    mount.mkdir(exist_ok=True)
    cli = " ".join(shlex.quote(str(a)) for a in [sys.executable, "-m", "yolo9000", *argv])
    m, left = shlex.quote(str(mount)), mount.with_name("left.txt")
    prepare = {"full": f"mount -t tmpfs -o size=1m tmpfs {m} && (cat /dev/zero > {m}/fill 2>/dev/null; true)",
               "ro": f"mount -t tmpfs -o size=1m,ro tmpfs {m}"}[mode]
    script = (f"{prepare} && {{ {cli}; rc=$?; (cd {m} && find . -mindepth 1 ! -name fill) > "
              f"{shlex.quote(str(left))}; exit $rc; }}")
    done = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                          capture_output=True, text=True, timeout=300)
    return done, sorted(x[2:] for x in left.read_text().splitlines()) if left.exists() else ["?"]


def one_line(done: subprocess.CompletedProcess, path: Path, why: str) -> None:
    lines = [x for x in done.stderr.splitlines() if x.startswith("yolo9000: ")]
    assert done.returncode == 2 and lines == [f"yolo9000: error: {path}: cannot write ({why})"], done.stderr
    assert "Traceback" not in done.stderr


FULL, READ_ONLY = "No space left on device", "Read-only file system"


def test_predict_onto_a_full_disk(assets, tmp_path: Path) -> None:  # noqa: F811
    w = W(tmp_path, assets)
    done, left = on_disk(w.p("disk"), predict(w, extra=("--save-dir", w.p("disk/out"), "--save-json",
                                                         w.p("d.json"))), "full")
    assert left == []
    assert done.returncode == 2 and "No space left on device" in done.stderr.splitlines()[-1], done.stderr
    assert len([x for x in done.stderr.splitlines() if x.startswith("yolo9000: ")]) == 1, done.stderr
    assert not w.p("d.json").exists()  # the images and the JSON are kept together, or neither


@pytest.mark.parametrize("mode, why", [("full", FULL), ("ro", READ_ONLY)])
def test_score_json_onto_a_full_or_read_only_disk(mode: str, why: str, assets, tmp_path: Path) -> None:  # noqa: F811
    w = W(tmp_path, assets)
    score_files(w)
    done, left = on_disk(w.p("disk"), score(w, "--json", w.p("disk/s.json")), mode)
    one_line(done, w.p("disk/s.json"), why)
    assert left == []
    assert done.stdout == ""  # the table is printed after the JSON is written


def test_predict_save_dir_on_a_read_only_disk(assets, tmp_path: Path) -> None:  # noqa: F811
    w = W(tmp_path, assets)
    done, left = on_disk(w.p("disk"), predict(w, extra=("--save-dir", w.p("disk/out"))), "ro")
    one_line(done, w.p("disk/out"), READ_ONLY)
    assert left == []


@pytest.mark.parametrize("mode", ["full", "ro"])
def test_train_on_a_full_or_read_only_disk(mode: str, assets, tmp_path: Path) -> None:  # noqa: F811
    """torch's checkpoint writer meets the full disk too: one line naming a file of the run, and no run folder
    (the run stopped before its first last.pt)."""
    w = W(tmp_path, assets)
    done, left = on_disk(w.p("disk"), train(w, w.voc(), "--project", w.p("disk/runs")), mode)
    assert left == []
    lines = [x for x in done.stderr.splitlines() if x.startswith("yolo9000: ")]
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"yolo9000: error: {w.p('disk/runs')}"), done.stderr
    assert lines[0].endswith(f"({FULL if mode == 'full' else READ_ONLY})"), done.stderr
