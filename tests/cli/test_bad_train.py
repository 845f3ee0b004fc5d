"""Bad input to the trainers (project issue 22): run names that leave ``--project``, resumes that cannot honour
an option, empty training or validation splits, seeds no generator takes. Same contract and runner as
:mod:`tests.cli.test_bad_input`: one line, exit 2, nothing on stdout, and the disk as it was -- an existing run
that a bad resume names stays byte for byte as it was.

The resume cases start from a real one-epoch run, ``runs/t1`` (made in the case's setup, so the disk check
covers it).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_bad_input import (  # noqa: F401 - assets is the shared fixture
    HAS_CUDA,
    NANO,
    Assets,
    Case,
    W,
    absent,
    assets,
    joint,
    params,
    run_case,
    train,
    train_cls,
)
from yolo9000.cli.app import main
from yolo9000.train.options import SEED_MAX


# ------------------------------------------------------------------------------------------ inputs
def prior(argv: Callable[[W], list[Any]], *extra: Any) -> Callable[[W], None]:
    """A setup that trains ``argv(w)`` (plus ``extra``) to its end as ``runs/t1``: the run a resume names."""
    def setup(w: W) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert main([str(a) for a in argv(w) + ["--name", "t1", *extra]]) == 0
    return setup


def det_run(w: W) -> list[Any]:
    """The detection run of the resume cases: the two-image VOC set, one epoch, no scoring of training images."""
    return train(w, w.voc(), "--train-eval", "0")


def cls_run(w: W) -> list[Any]:
    return train_cls(w, w.imagefolder(), "--no-tensorboard")


def joint_run(w: W) -> list[Any]:
    return joint(w, w.voc(), w.wnid_folder(), "--no-tensorboard", "--batch", "2")


def last(w: W) -> Path:
    return w.p("runs/t1/weights/last.pt")


def empty_split(w: W, split: str) -> Path:
    """The two-image VOC set whose ``split`` lists no image (the other split lists both)."""
    w.voc()
    w.write("voc/empty.txt", "")
    other = "val" if split == "train" else "train"
    return w.write("voc/data.yaml", f"path: .\nformat: voc\n{split}: empty.txt\n{other}: list.txt\nnames: [cat]\n")


def bad_images(w: W) -> Path:
    """The two-image VOC set with both images unreadable (zero bytes)."""
    yaml = w.voc()
    w.write("voc/images/a.jpg", b"")
    w.write("voc/images/b.jpg", b"")
    return yaml


def voc2(w: W) -> Path:
    """A second VOC set beside the first: another dataset of the same classes."""
    return w.voc("voc2")


SEPARATOR, DOT = "holds a path separator", "starts with '.'"
NAMES = {  # what -> (--name, the problem the line names)
    "dotdot-escape": ("../escape", SEPARATOR), "dotdot-inside": ("t1/..", SEPARATOR), "nested": ("t1/sub", SEPARATOR),
    "trailing-slash": ("t1/", SEPARATOR), "dot": (".", DOT), "dotdot": ("..", DOT), "hidden": (".hidden", DOT),
    "empty": ("", "is empty"), "nul-byte": ("a\x00b", "control character"),
    "newline": ("a\nb", "control character"), "too-long": ("n" * 300, "longer than 240 bytes"),
}

CASES: list[Case] = [
    # ---------------------------------------------------------------- 4. a run name is one folder name
    *[Case(f"name/train-{what}", lambda w, n=name: train(w, w.voc(), "--name", n),
           expect=(f"--name {name!r}", problem, "one folder name inside --project"), post=absent("escape", "runs"))
      for what, (name, problem) in NAMES.items()],
    Case("name/train-absolute", lambda w: train(w, w.voc(), "--name", w.p("abs")), expect=("--name", SEPARATOR),
         post=absent("abs", "runs")),
    Case("name/train-classifier-dotdot", lambda w: train_cls(w, w.imagefolder(), "--name", "../escape"),
         expect=("--name '../escape'", SEPARATOR), post=absent("escape", "runs")),
    Case("name/train-classifier-hidden", lambda w: train_cls(w, w.imagefolder(), "--name", ".x"),
         expect=("--name '.x'", DOT)),
    Case("name/train-joint-absolute", lambda w: joint(w, w.voc(), w.wnid_folder(), "--name", w.p("abs")),
         expect=("--name", SEPARATOR), post=absent("abs", "runs")),
    Case("name/train-joint-empty", lambda w: joint(w, w.voc(), w.wnid_folder(), "--name", ""),
         expect=("--name ''", "is empty")),
    Case("name/exist-ok-onto-a-file", lambda w: train(w, w.voc(), "--exist-ok", "--name", "notes"),
         setup=lambda w: w.write("runs/notes", "keep me\n"), names=lambda w: w.p("runs/notes"),
         expect=("is a file",)),
    Case("name/resume-dotdot", lambda w: train(w, w.voc(), "--resume", "--name", "runs/t1/.."),
         setup=prior(det_run), expect=("--name 'runs/t1/..'", SEPARATOR)),

    # ---------------------------------------------------------------- 6. a resume cannot change what is trained
    Case("resume/other-model", lambda w: det_run(w) + ["--resume", "--name", "t1", "--model", NANO],
         setup=prior(det_run), names=last, expect=(f"--model {NANO}: a resume cannot change the network",)),
    Case("resume/other-model-file", lambda w: det_run(w)[:-2] + ["--model", w.p("other.cfg"), "--resume", "--name",
                                                                  "t1"],
         setup=lambda w: (prior(det_run)(w), w.write("other.cfg", w.a.det_cfg.read_text())), names=last,
         expect=("--model",)),
    Case("resume/other-data", lambda w: train(w, voc2(w), "--train-eval", "0", "--resume", "--name", "t1"),
         setup=prior(det_run), names=last, expect=("--data", "a resume cannot change the data"),
         forbid=("DetectionDataset(",)),
    Case("resume/weights", lambda w: det_run(w) + ["--resume", "--name", "t1", "--weights", w.a.det_weights],
         setup=prior(det_run), names=last, expect=("--weights",)),
    Case("resume/preset", lambda w: det_run(w) + ["--resume", "--name", "t1", "--preset", "darknet"],
         setup=prior(det_run), names=last, expect=("--preset",)),
    Case("resume/anchors", lambda w: det_run(w) + ["--resume", "--name", "t1", "--anchors", "hand"],
         setup=prior(det_run), names=last, expect=("--anchors",)),
    Case("resume/no-batchnorm", lambda w: det_run(w) + ["--resume", "--name", "t1", "--no-batchnorm"],
         setup=prior(det_run), names=last, expect=("--no-batchnorm: a resume cannot change",)),
    Case("resume/class-scale", lambda w: det_run(w) + ["--resume", "--name", "t1", "--class-scale", "2"],
         setup=prior(det_run), names=last, expect=("--class-scale",)),
    Case("resume/ema-switched-on", lambda w: det_run(w) + ["--resume", "--name", "t1", "--ema", "0.9"],
         setup=prior(det_run), names=last, expect=("--ema 0.9: a resume cannot switch the weights' EMA on",)),
    Case("resume/optimizer-switched", lambda w: det_run(w) + ["--resume", "--name", "t1", "--optimizer", "sgd"],
         setup=prior(det_run), names=last, expect=("--optimizer",)),
    Case("resume/epochs-below-the-trained", lambda w: det_run(w) + ["--resume", "--name", "t1", "--epochs", "1"],
         setup=prior(det_run, "--epochs", "2"), names=last, expect=("--epochs 1: this run has trained 2 epochs",)),
    Case("resume/last-pt-missing", lambda w: det_run(w) + ["--resume", "--name", "t1"],
         setup=lambda w: (prior(det_run)(w), last(w).unlink()), names=last, expect=("nothing to resume",)),
    Case("resume/run-is-a-file", lambda w: det_run(w) + ["--resume", "--name", "t1"],
         setup=lambda w: w.write("runs/t1", "keep me\n"), names=lambda w: w.p("runs/t1"), expect=("is a file",)),
    Case("resume/classifier-run-with-train", lambda w: det_run(w) + ["--resume", "--name", "t1"],
         setup=prior(cls_run), names=last, expect=("'yolo9000 train-classifier --resume'",)),
    Case("resume/detector-run-with-train-classifier", lambda w: cls_run(w) + ["--resume", "--name", "t1"],
         setup=prior(det_run), names=last, expect=("'yolo9000 train --resume'",)),
    Case("resume/classifier-other-data", lambda w: train_cls(w, w.p("cls2"), "--no-tensorboard", "--resume",
                                                             "--name", "t1"),
         setup=lambda w: (prior(cls_run)(w), w.imagefolder("cls2")), names=last, expect=("--data",)),
    Case("resume/classifier-model-typed-at-its-default",  # --model darknet19 is the default, and typed
         lambda w: cls_run(w)[:3] + ["--model", "darknet19"] + cls_run(w)[5:] + ["--resume", "--name", "t1"],
         setup=prior(cls_run), names=last, expect=("--model darknet19: a resume cannot change the network",)),
    Case("resume/classifier-optimizer-typed-at-its-default",
         lambda w: cls_run(w) + ["--resume", "--name", "t1", "--optimizer", "sgd"],
         setup=prior(cls_run, "--optimizer", "adamw"), names=last,
         expect=("--optimizer sgd: a resume cannot change the optimizer",)),
    Case("resume/joint-other-model", lambda w: joint_run(w) + ["--resume", "--name", "t1", "--model", NANO],
         setup=prior(joint_run), names=last, expect=("--model",)),
    Case("resume/joint-other-cls-data", lambda w: joint(w, w.voc(), w.p("wnids2"), "--no-tensorboard", "--batch",
                                                        "2", "--resume", "--name", "t1"),
         setup=lambda w: (prior(joint_run)(w), w.wnid_folder("wnids2")), names=last, expect=("--cls-data",)),

    # ---------------------------------------------------------------- 7. empty splits, before anything is made
    Case("split/train-empty", lambda w: train(w, empty_split(w, "train")), names=lambda w: w.p("voc/data.yaml"),
         expect=("'train'",), post=absent("runs")),
    Case("split/train-empty-imgsz-from-data", lambda w: [a for a in train(w, empty_split(w, "train"))
                                                         if a not in ("--imgsz", "64")],
         names=lambda w: w.p("voc/data.yaml"), expect=("'train'",), post=absent("runs")),
    Case("split/val-empty", lambda w: train(w, empty_split(w, "val")), names=lambda w: w.p("voc/data.yaml"),
         expect=("'val'",), forbid=("DetectionDataset(",), post=absent("runs")),
    Case("split/train-all-skipped", lambda w: train(w, bad_images(w), "--skip-bad"),
         names=lambda w: w.p("voc/data.yaml"), expect=("'train'", "--skip-bad"), post=absent("runs")),
    Case("split/train-classifier-no-images", lambda w: train_cls(w, w.p("cls")),
         setup=lambda w: (w.imagefolder(), [p.unlink() for p in w.p("cls/train").rglob("*.png")]),
         names=lambda w: w.p("cls/train")),
    Case("split/train-classifier-all-skipped", lambda w: train_cls(w, w.p("cls"), "--skip-bad"),
         setup=lambda w: (w.imagefolder(), [w.write(f"cls/train/{c}/0.png", b"") for c in "ab"]),
         names=lambda w: w.p("cls/train"), expect=("no readable images", "--skip-bad")),
    Case("split/train-classifier-val-all-skipped", lambda w: train_cls(w, w.p("cls"), "--skip-bad"),
         setup=lambda w: (w.imagefolder(), [w.write(f"cls/val/{c}/0.png", b"") for c in "ab"]),
         names=lambda w: w.p("cls/val"), expect=("no readable images", "--skip-bad")),
    Case("split/train-joint-classification-all-skipped", lambda w: joint(w, w.voc(), w.p("wnids"), "--skip-bad"),
         setup=lambda w: (w.wnid_folder(), w.write("wnids/n00000001/0.png", b"")),
         names=lambda w: w.p("wnids"), expect=("no readable images", "--skip-bad")),
    Case("split/train-joint-detection-all-skipped", lambda w: joint(w, bad_images(w), w.wnid_folder(), "--skip-bad"),
         names=lambda w: w.p("voc/data.yaml"), expect=("'train'", "--skip-bad")),
    Case("split/train-joint-detection-train-empty", lambda w: joint(w, empty_split(w, "train"), w.wnid_folder()),
         names=lambda w: w.p("voc/data.yaml"), expect=("'train'",)),
    Case("split/train-joint-val-empty", lambda w: joint(w, empty_split(w, "val"), w.wnid_folder()),
         names=lambda w: w.p("voc/data.yaml"), expect=("'val'",), forbid=("DetectionDataset(",)),

    # ---------------------------------------------------------------- devices
    Case("device/train-bogus", lambda w: train(w, w.voc(), "--device", "gpu0"), expect=("gpu0",)),
    Case("device/train-cuda-without-gpu", lambda w: train(w, w.voc(), "--device", "cuda"), expect=("cuda",),
         skip="this machine has CUDA" if HAS_CUDA else None),

    # ---------------------------------------------------------------- 11. seeds
    Case("seed/train-negative", lambda w: train(w, w.voc(), "--seed", "-1"), expect=("--seed -1",)),
    Case("seed/train-huge", lambda w: train(w, w.voc(), "--seed", str(2 ** 70)),
         expect=(f"--seed {2 ** 70}: must be a whole number from 0 to {SEED_MAX}",)),
    Case("seed/train-classifier-negative", lambda w: train_cls(w, w.imagefolder(), "--seed", "-1"),
         expect=("--seed -1",)),
    Case("seed/train-joint-negative", lambda w: joint(w, w.voc(), w.wnid_folder(), "--seed", "-5"),
         expect=("--seed -5",)),
    # the largest seed trains: every random stream takes it
    Case("seed/train-largest-ok", lambda w: det_run(w) + ["--seed", str(SEED_MAX)], outcome="ok", new_ok=("runs",)),
    Case("seed/train-classifier-largest-ok", lambda w: cls_run(w) + ["--seed", str(SEED_MAX)], outcome="ok",
         new_ok=("runs",)),
    Case("seed/train-joint-largest-ok", lambda w: joint_run(w) + ["--seed", str(SEED_MAX)], outcome="ok",
         new_ok=("runs",)),
]

DEFECTS: dict[str, str] = {}


@pytest.mark.parametrize("case", params(CASES, DEFECTS))
def test_bad_train(case: Case, assets: Assets, tmp_path: Path, monkeypatch, capfd) -> None:  # noqa: F811
    run_case(case, assets, tmp_path, monkeypatch, capfd)
