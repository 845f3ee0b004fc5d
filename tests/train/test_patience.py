"""``--patience N``: training stops when N validations in a row bring no better score, says so in one line,
and a resumed early-stopped run stays stopped (unless the resume raises --patience)."""
from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import yolo9000.train.detect as validate_module  # the name detection training validates through
from yolo9000.errors import Yolo9000Error
from yolo9000.train.checks import check_run_options
from yolo9000.train.detect import TrainConfig, train
from yolo9000.train.engine import EarlyStop


@pytest.fixture(scope="module")
def shapes_yaml(tmp_path_factory) -> Path:
    from yolo9000.datasets.shapes import make_shapes

    return make_shapes(tmp_path_factory.mktemp("shapes"), n_train=8, n_val=2, size=64, seed=1)


def scripted_scores(monkeypatch, scores: list[float]) -> list[float]:
    """validate() runs for real (its plots are written) but reports the next score of ``scores``."""
    real = validate_module.validate
    given: list[float] = []

    def fake(*args, **kwargs):
        real(*args, **kwargs)
        given.append(scores[len(given)])
        return SimpleNamespace(mAP=given[-1])

    monkeypatch.setattr(validate_module, "validate", fake)
    return given


def rows(run: Path) -> list[dict[str, str]]:
    with open(run / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_early_stop_bookkeeping():
    s = EarlyStop(2)
    assert s.update(0.1, 1) and s.update(0.3, 2) and not s.stop
    assert not s.update(0.3, 3) and not s.stop and s.next_may_stop()  # equal is not better
    assert not s.update(float("nan"), 4) and s.stale == 1  # no validation that epoch
    assert not s.update(0.2, 5) and s.stop and (s.best, s.best_epoch, s.stale) == (0.3, 2, 2)
    assert s.message(5, 9, "VOC07 mAP@0.5") == ("early stop after epoch 5/9: VOC07 mAP@0.5 has not improved for 2 "
                                                "validations (--patience 2); the best, 0.3000, was at epoch 2 "
                                                "(weights/best.pt)")
    assert not EarlyStop(0, stale=50).stop  # 0: off
    r = EarlyStop.restore(3, {"early_stop": s.state()}, 0.3)
    assert (r.best, r.best_epoch, r.stale, r.stop) == (0.3, 2, 2, False)  # a larger patience goes on
    assert EarlyStop.restore(1, {"best_map": 0.5}, 0.5).stale == 0  # a checkpoint from before --patience


def test_patience_stops_training(shapes_yaml, small_cfg, tmp_path, monkeypatch, capsys):
    given = scripted_scores(monkeypatch, [0.1, 0.3, 0.2, 0.9, 0.95, 0.99])
    cfg = TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=6, imgsz=64, batch=4, burn_in=1,
                      multiscale=False, workers=0, train_eval=0, tensorboard=False, patience=1,
                      project=str(tmp_path), name="p")
    run = train(cfg)
    out = capsys.readouterr().out
    assert given == [0.1, 0.3, 0.2]  # epoch 3 is not better than epoch 2: with patience 1 it stops there
    assert [r["epoch"] for r in rows(run)] == ["1", "2", "3"] and rows(run)[-1]["mAP50"] == "0.2"
    stop_lines = [line for line in out.splitlines() if line.startswith("early stop")]
    assert stop_lines == ["early stop after epoch 3/6: VOC07 mAP@0.5 has not improved for 1 validation "
                          "(--patience 1); the best, 0.3000, was at epoch 2 (weights/best.pt)"]
    last = torch.load(run / "weights" / "last.pt", weights_only=True)
    best = torch.load(run / "weights" / "best.pt", weights_only=True)
    assert last["epoch"] == 2 and last["early_stop"] == {"best_epoch": 2, "stale": 1, "patience": 1}
    assert best["epoch"] == 1 and best["best_map"] == 0.3
    # the end-of-run files are there as after a full run: plots, the validation of the last epoch, pictures
    for f in ("results.csv", "results.png", "val_predictions.jpg", "val/results.json", "weights/last.pt",
              "weights/best.pt"):
        assert (run / f).is_file(), f
    assert sorted(p.name for p in (run / "predictions").iterdir()) == ["000000.jpg", "000001.jpg"]

    # a bare resume of the stopped run trains nothing more, and says why
    assert train(TrainConfig(project=str(tmp_path), name="p", resume=True)) == run
    assert len(given) == 3 and len(rows(run)) == 3
    assert "early stop after epoch 3/6" in capsys.readouterr().out
    # a resume that raises --patience goes on: epoch 4 improves, the run then ends at its 6 epochs
    train(TrainConfig(project=str(tmp_path), name="p", resume=True, patience=5))
    assert given == [0.1, 0.3, 0.2, 0.9, 0.95, 0.99] and [r["epoch"] for r in rows(run)] == [str(i) for i in range(1, 7)]
    assert torch.load(run / "weights" / "best.pt", weights_only=True)["epoch"] == 5


def test_patience_counts_validations_not_epochs(shapes_yaml, small_cfg, tmp_path, monkeypatch):
    given = scripted_scores(monkeypatch, [0.5, 0.4, 0.3, 0.2])
    cfg = TrainConfig(data=str(shapes_yaml), model=str(small_cfg), epochs=8, imgsz=64, batch=4, burn_in=1,
                      multiscale=False, workers=0, train_eval=0, tensorboard=False, patience=2, val_every=2,
                      project=str(tmp_path), name="v")
    run = train(cfg)
    # validations after epochs 2, 4, 6: 0.5 (best), 0.4, 0.3 -> two without a better score: stop after epoch 6
    assert given == [0.5, 0.4, 0.3] and len(rows(run)) == 6


@pytest.mark.parametrize("kw, match", [
    ({"patience": -1}, "--patience -1: must be >= 0 \\(0: off\\)"),
    ({"patience": 3, "val_every": 0}, "--patience 3 needs validations to count"),
])
def test_bad_patience_is_one_line(kw, match, tmp_path):
    with pytest.raises(Yolo9000Error, match=match) as e:
        check_run_options(TrainConfig(project=str(tmp_path), **kw))
    assert "\n" not in str(e.value)
    with pytest.raises(Yolo9000Error, match=match):
        train(TrainConfig(project=str(tmp_path / "runs"), **kw))
    assert not (tmp_path / "runs").exists()


def test_cli_has_the_flag():
    import argparse

    from yolo9000.cli.args import add_dataclass_args, dataclass_from_args

    p = argparse.ArgumentParser()
    add_dataclass_args(p, TrainConfig)
    assert dataclass_from_args(TrainConfig, p.parse_args(["--patience", "4"])).patience == 4
    assert replace(TrainConfig(), patience=0).patience == TrainConfig().patience == 0


def test_classifier_patience(tmp_path, monkeypatch, capsys):
    import yolo9000.train.classify as tc

    from tests.train.test_classify import SMALL_CLASSIFIER

    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("val", 2)):
        for name in ("blue", "red"):
            (tmp_path / "data" / split / name).mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(
                    tmp_path / "data" / split / name / f"{i}.png")
    (tmp_path / "cls.cfg").write_text(SMALL_CLASSIFIER)
    top1 = iter([0.5, 0.75, 0.75, 0.5, 1.0])
    monkeypatch.setattr(tc, "evaluate", lambda model, loader, device: (next(top1), 1.0, 0.7))
    cfg = tc.ClassifyConfig(data=str(tmp_path / "data"), model=str(tmp_path / "cls.cfg"), epochs=5, imgsz=32,
                            batch=4, workers=0, patience=2, project=str(tmp_path), name="c")
    run = tc.train_classifier(cfg)
    assert [r["top1"] for r in rows(run)] == ["0.5", "0.75", "0.75", "0.5"]  # two epochs no better than 0.75
    assert ("early stop after epoch 4/5: val top-1 has not improved for 2 validations (--patience 2); the best, "
            "0.7500, was at epoch 2 (weights/best.pt)") in capsys.readouterr().out
    assert torch.load(run / "weights" / "best.pt", weights_only=True)["epoch"] == 1
    tc.train_classifier(tc.ClassifyConfig(data=str(tmp_path / "data"), project=str(tmp_path), name="c", resume=True))
    assert len(rows(run)) == 4  # stays stopped
    with pytest.raises(Yolo9000Error, match="--patience -2: must be >= 0"):
        tc.train_classifier(replace(cfg, patience=-2, name="bad"))
