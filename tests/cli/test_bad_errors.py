"""Errors that used to escape as tracebacks (project issue 23, item 5): zoo names that are not in the zoo, a
WordTree detector given to the flat detection trainer, a cfg's own training values out of range. Same contract
and runner as :mod:`tests.cli.test_bad_input`: one line, exit 2, nothing on stdout, and the disk as it was.

The ``--skip-bad`` notices (one helper, :func:`yolo9000.datasets.loader.warn_skipped`, for the loader and every
trainer) are checked at the end: one ``yolo9000: warning:`` line per skipped set, on stderr.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_bad_input import (  # noqa: F401 - assets is the shared fixture
    DET_CFG, Assets, Case, W, absent, assets, params, predict, run_case, run_cli, train, val,
)
from yolo9000.models.zoo import ZOO

# ------------------------------------------------------------------------------------------ inputs
NOSUCH = f"yolo9000: error: nosuch: not a zoo model ({', '.join(ZOO)}), a .cfg file or a checkpoint"
WORDTREE_ON_FLAT = ("yolo9000: error: --model yolo9000: a WordTree detector (9418 tree nodes) cannot be trained on "
                    "the dataset's 1 class; train it with 'yolo9000 train-joint' (--tree, --det-map), or choose a "
                    "flat detector (e.g. yolov2-voc)")


def cls_nosuch(w: W) -> list[Any]:
    return ["train-classifier", "--data", w.imagefolder(), "--model", "nosuch", "--imgsz", "32", "--epochs", "1",
            "--workers", "0", "--project", w.p("runs")]


def joint_nosuch(w: W) -> list[Any]:
    return ["train-joint", "--data", w.voc(), "--cls-data", w.wnid_folder(), "--model", "nosuch", "--tree", w.a.tree,
            "--det-map", w.a.det_map, "--imgsz", "64", "--epochs", "1", "--workers", "0", "--project", w.p("runs")]


def jitter_cfg(w: W) -> Path:
    return w.cfg(old="jitter=.2", new="jitter=1.5")


# ------------------------------------------------------------------------------------------ the table
CASES: list[Case] = [
    # ---------------------------------------------------------------- a model name not in the zoo
    Case("unknown-model/predict", lambda w: predict(w, model="nosuch", weights=None), expect=(NOSUCH,)),
    Case("unknown-model/val", lambda w: val(w, w.voc(), model="nosuch"), expect=(NOSUCH,)),
    Case("unknown-model/info", lambda w: ["info", "--model", "nosuch"], expect=(NOSUCH,)),
    Case("unknown-model/export", lambda w: ["export", "--model", "nosuch", "-o", w.p("out.onnx")], expect=(NOSUCH,)),
    Case("unknown-model/convert", lambda w: ["convert", "--model", "nosuch", "-o", w.p("out.pt")], expect=(NOSUCH,)),
    Case("unknown-model/benchmark", lambda w: ["benchmark", "--model", "nosuch", "--iters", "1"], expect=(NOSUCH,)),
    Case("unknown-model/train", lambda w: train(w, w.voc(), model="nosuch"), expect=(NOSUCH,), post=absent("runs")),
    # the demo: refused before its data set is generated
    Case("unknown-model/train-demo",
         lambda w: ["train", "--model", "nosuch", "--epochs", "1", "--project", w.p("runs")],
         expect=(NOSUCH,), post=absent("runs")),
    Case("unknown-model/train-classifier", cls_nosuch, expect=(NOSUCH,), post=absent("runs")),
    Case("unknown-model/train-joint", joint_nosuch, expect=(NOSUCH,), post=absent("runs")),
    # the joint demo: refused before its data set is generated and announced on stdout
    Case("unknown-model/train-joint-demo",
         lambda w: ["train-joint", "--model", "nosuch", "--epochs", "1", "--project", w.p("runs")],
         expect=(NOSUCH,), post=absent("runs")),

    # ---------------------------------------------------------------- a WordTree detector for the flat trainer
    Case("wordtree/train-yolo9000-on-flat-data", lambda w: train(w, w.voc(), model="yolo9000"),
         expect=(WORDTREE_ON_FLAT,), post=absent("runs")),

    # ---------------------------------------------------------------- a cfg's training values
    Case("cfg/train-region-jitter-above-1", lambda w: train(w, w.voc(), model=jitter_cfg(w)),
         names=lambda w: f"yolo9000: error: --model {w.p('bad.cfg')}: [region] jitter=1.5: must lie in [0, 1), a "
                         f"fraction of the image size (or give --jitter)", post=absent("runs")),
    # heads the region loss cannot train (NotImplementedError tracebacks at the first batch before)
    Case("cfg/train-region-map-without-tree",
         lambda w: train(w, w.voc(), model=w.cfg(old="jitter=.2\n", new="jitter=.2\nmap=det.map\n")),
         setup=lambda w: w.write("det.map", "0\n"),
         names=lambda w: f"yolo9000: error: --model {w.p('bad.cfg')}: [region] map= without tree=: training such "
                         f"a head is not implemented (give tree= too, or drop map=)", post=absent("runs")),
    Case("cfg/train-region-coords-5",
         lambda w: train(w, w.voc(), model=w.cfg(text=DET_CFG.replace("filters=12", "filters=14"), old="coords=4",
                                                 new="coords=5")),
         names=lambda w: f"yolo9000: error: --model {w.p('bad.cfg')}: [region] coords=5: training boxes of other "
                         f"than 4 coordinates (masks) is not implemented", post=absent("runs")),
    Case("cfg/train-region-jitter-overridden-ok",
         lambda w: train(w, w.voc(), "--jitter", "0.2", model=jitter_cfg(w)), outcome="ok", new_ok=("runs",)),

    # ---------------------------------------------------------------- the loader's --skip-bad line
    Case("skip-bad/val-loader-line",
         lambda w: val(w, w.voc(b_xml="<annotation>"), "--skip-bad", "--weights", w.a.det_weights),
         outcome="warning",
         names=lambda w: f"yolo9000: warning: {w.p('voc/data.yaml')}: split 'val': --skip-bad left out 1 bad record: "
                         f"{w.p('voc/annotations/b.xml')}"),
]

DEFECTS: dict[str, str] = {}


@pytest.mark.parametrize("case", params(CASES, DEFECTS))
def test_bad_errors(case: Case, assets: Assets, tmp_path: Path, monkeypatch, capfd) -> None:  # noqa: F811
    run_case(case, assets, tmp_path, monkeypatch, capfd)


# ------------------------------------------------------------------------------------------ the trainers' line
def test_train_classifier_skip_bad_line(assets: Assets, tmp_path: Path, monkeypatch, capfd) -> None:  # noqa: F811
    """An unreadable image left out by ``train-classifier --skip-bad``: one warning line naming its split folder,
    through the helper the loader uses (no longer a print on stdout)."""
    monkeypatch.chdir(tmp_path)
    w = W(tmp_path, assets)
    data = w.imagefolder(bad="train/a/bad.png")
    argv = ["train-classifier", "--data", data, "--model", assets.cls_cfg, "--imgsz", "32", "--batch", "2",
            "--epochs", "1", "--workers", "0", "--no-tensorboard", "--project", w.p("runs"), "--skip-bad"]
    rc, out, err = run_cli(argv, capfd)
    assert rc == 0, err
    notes = [line for line in err.splitlines() if "--skip-bad" in line]
    assert notes == [f"yolo9000: warning: {data / 'train'}: --skip-bad left out 1 unreadable image: "
                     f"{data / 'train' / 'a' / 'bad.png'}"], err
    assert "--skip-bad" not in out
