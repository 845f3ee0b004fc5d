"""The checks of a run's name and of a resume (project issue 22), on the functions themselves: a run name is one
folder name; a resume refuses what it cannot honour (another network, data, starting weights, optimizer, EMA on or
off, fewer epochs than trained, another trainer's checkpoint) and accepts the run's own values however spelled.
The command-line contract of the same inputs is tests/cli/test_bad_train.py's."""
from __future__ import annotations

import csv
import dataclasses
import os
import re
from pathlib import Path
from typing import Any

import pytest
import torch

from yolo9000.checkpoints.format import CHECKPOINT_FORMAT, CHECKPOINT_VERSION
from yolo9000.cli.app import build_parser, main
from yolo9000.cli.args import given_flags
from yolo9000.errors import Yolo9000Error
from yolo9000.train.checks import check_run_name, check_run_options, resume_config
from yolo9000.train.classify import Augmented, ClassifyConfig, EpochBatches
from yolo9000.train.detect import TrainConfig
from yolo9000.train.joint import JointConfig
from yolo9000.train.options import SEED_MAX


@pytest.mark.parametrize("name", ["train", "exp 2", "a.b", "run-1_x", "été", "n" * 240])
def test_a_run_name_is_one_folder_name(name: str) -> None:
    check_run_name(name)


@pytest.mark.parametrize("name, problem", [
    ("", "is empty"), (".", "starts with '.'"), ("..", "starts with '.'"), (".hidden", "starts with '.'"),
    ("../escape", "path separator"), ("t1/..", "path separator"), ("t1/sub", "path separator"),
    ("/abs/run", "path separator"), ("t1/", "path separator"), ("a\0b", "control character '\\\\x00'"),
    ("a\nb", "control character"), ("n" * 241, "longer than 240"),
])
def test_other_run_names_are_refused(name: str, problem: str) -> None:
    with pytest.raises(Yolo9000Error, match=f"^--name {re.escape(repr(name))}: [^;]*{problem}[^;]*; a run name is "
                                            f"one folder name inside --project"):
        check_run_name(name)


@pytest.mark.parametrize("config", [TrainConfig(name=".."), ClassifyConfig(data="d", name="a/b"),
                                    JointConfig(name="")], ids=["train", "train-classifier", "train-joint"])
def test_every_trainer_checks_its_name_and_seed(config: Any) -> None:
    with pytest.raises(Yolo9000Error, match="^--name"):
        check_run_options(config)
    for seed in (-1, SEED_MAX + 1):
        with pytest.raises(Yolo9000Error, match=f"^--seed {seed}: must be a whole number from 0 to {SEED_MAX}"):
            check_run_options(dataclasses.replace(config, name="ok", seed=seed))
    check_run_options(dataclasses.replace(config, name="ok", seed=SEED_MAX))


def test_the_largest_seed_keys_the_classifier_streams() -> None:
    """Augmented and EpochBatches key torch's generator from (seed, epoch, index): the key wraps into its
    64-bit range, and small seeds keep the keys they always had."""
    data = Augmented([0, 1, 2], seed=SEED_MAX)
    data.set_epoch(7)
    assert [data[i] for i in range(3)] == [0, 1, 2]
    batches = EpochBatches(10, 3, seed=SEED_MAX, drop_last=False)
    batches.set_epoch(5)
    assert sorted(i for b in batches for i in b) == list(range(10))
    small = EpochBatches(10, 3, seed=3, drop_last=False)
    small.set_epoch(2)
    order = torch.randperm(10, generator=torch.Generator().manual_seed(3 * 100_003 + 2)).tolist()
    assert [i for b in small for i in b] == order


# ----------------------------------------------------------------------------- resume_config on a saved run
def _saved_run(folder: Path, cfg: Any, trainer: str | None, epoch: int = 1, ema: bool = False) -> Path:
    """``folder/runs/r/weights/last.pt`` holding ``cfg`` as its run's options (``trainer``: the recorded command,
    None: a checkpoint from before the record) after ``epoch + 1`` epochs; the network and states are
    placeholders."""
    last = folder / "runs" / "r" / "weights" / "last.pt"
    last.parent.mkdir(parents=True)
    ckpt = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "cfg": "[net]\n", "model": {},
            "optimizer": {}, "scheduler": {}, "rng": {}, "epoch": epoch, "seen": 0,
            "train_config": {f.name: list(v) if isinstance(v := getattr(cfg, f.name), tuple) else v
                             for f in dataclasses.fields(cfg)}}
    if trainer is not None:
        ckpt["trainer"] = trainer
    if ema:
        ckpt["train_model"] = {}
    torch.save(ckpt, last)
    return last


@pytest.fixture()
def detect_run(tmp_path: Path) -> tuple[TrainConfig, Path]:
    """A detection run's options as its checkpoint records them (resolved: data, model, recipe) and its last.pt."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "set.yaml").write_text("names: [a]\n")
    run = TrainConfig(data=str(tmp_path / "data" / "set.yaml"), model="yolov2-tiny-voc", preset="scratch",
                      epochs=5, optimizer="adamw", lr=0.001, burn_in=100, anchors="auto", obj_loss="bce",
                      box_loss="ciou", class_scale=5.0, imgsz=256, project=str(tmp_path / "runs"), name="r")
    return run, _saved_run(tmp_path, run, "train")


def _resume(last: Path, typed: frozenset[str] | None = None, **given: Any) -> TrainConfig:
    """The config of ``train --resume --name r`` plus ``given`` (the resume's command line; ``typed``: the
    flags it typed, None: those given)."""
    return resume_config(TrainConfig(project=str(last.parents[2]), name="r", resume=True, **given), last,
                         trainer="train", given=typed)[1]


def test_a_bare_resume_takes_the_run_as_configured(detect_run) -> None:
    run, last = detect_run
    assert _resume(last) == dataclasses.replace(run, resume=True)


def test_the_run_own_values_retyped_are_accepted_and_keep_its_spelling(detect_run, monkeypatch) -> None:
    run, last = detect_run
    monkeypatch.chdir(Path(run.data).parent)
    cfg = _resume(last, data="set.yaml", model="yolov2-tiny-voc", optimizer="adamw", anchors="auto",
                  preset="scratch", epochs=8, lr=0.002, jitter=0.1)
    assert cfg.data == run.data  # the same file named relatively: the run's absolute path stays recorded
    assert (cfg.epochs, cfg.lr, cfg.jitter) == (8, 0.002, 0.1)  # options a resume honours override


@pytest.mark.parametrize("given, flag", [
    ({"model": "yolov2-nano"}, "--model yolov2-nano"), ({"data": "other.yaml"}, "--data other.yaml"),
    ({"weights": "x.weights"}, "--weights x.weights"), ({"preset": "darknet"}, "--preset darknet"),
    ({"anchors": "hand"}, "--anchors hand"), ({"batchnorm": False}, "--no-batchnorm"),
    ({"passthrough": False}, "--no-passthrough"), ({"location": "offset"}, "--location offset"),
    ({"class_scale": 1.0}, "--class-scale 1.0"), ({"optimizer": "sgd"}, "--optimizer sgd"),
])
def test_a_resume_cannot_change_the_network_data_or_optimizer(detect_run, given: dict, flag: str) -> None:
    _, last = detect_run
    with pytest.raises(Yolo9000Error, match=f"^{re.escape(str(last))}: {re.escape(flag)}: a resume cannot change "
                                            f".* start a new run \\(--weights {re.escape(str(last))} "):
        _resume(last, **given)


def test_an_option_typed_at_its_default_counts_as_given(detect_run, tmp_path: Path) -> None:
    """The command line records the flags it typed: on a run with momentum 0.8 and no flips, ``--momentum 0.9``
    and ``--flip`` (the defaults) override only when typed, and an option left out keeps the run's value."""
    run, _ = detect_run
    last = _saved_run(tmp_path / "b", dataclasses.replace(run, project=str(tmp_path / "b" / "runs"), momentum=0.8,
                                                           flip=False), "train")
    bare = frozenset({"resume", "name", "project"})
    cfg = _resume(last, typed=bare)
    assert (cfg.momentum, cfg.flip) == (0.8, False)
    cfg = _resume(last, typed=bare | {"momentum", "flip"})
    assert (cfg.momentum, cfg.flip) == (0.9, True)
    assert _resume(last, typed=bare, epochs=10).epochs == 5  # 10 in the config, but not typed
    assert _resume(last, typed=bare | {"epochs"}, epochs=10).epochs == 10
    assert _resume(last, typed=None, momentum=0.85).momentum == 0.85  # no record: what differs from the default


def test_the_command_line_records_the_flags_it_typed() -> None:
    a = build_parser().parse_args(["train", "--resume", "--name", "t1", "--model", "yolov2-nano16", "--no-flip",
                                   "--steps", "0.5", "0.7", "--momentum", "0.9"])
    assert given_flags(a) == {"resume", "name", "model", "flip", "steps", "momentum"}
    assert given_flags(build_parser().parse_args(["train"])) == frozenset()


def test_a_resume_cannot_switch_ema_or_train_fewer_epochs_than_done(detect_run, tmp_path: Path) -> None:
    _, last = detect_run
    with pytest.raises(Yolo9000Error, match=f"^{re.escape(str(last))}: --ema 0.9: a resume cannot switch the "
                                            f"weights' EMA on"):
        _resume(last, ema=0.9)
    with pytest.raises(Yolo9000Error, match=f"^{re.escape(str(last))}: --epochs 1: this run has trained 2 epochs "
                                            f"already"):
        _resume(last, epochs=1)
    assert _resume(last, epochs=2).epochs == 2  # as many as done: a finished run, nothing more to train


def test_another_trainers_checkpoint_is_refused(tmp_path: Path) -> None:
    cls_run = ClassifyConfig(data=str(tmp_path), name="r", project=str(tmp_path / "runs"))
    last = _saved_run(tmp_path, cls_run, "train-classifier")
    with pytest.raises(Yolo9000Error, match=f"^{re.escape(str(last))}: the checkpoint of a 'train-classifier' run, "
                                            f"not a 'train' one; resume it with 'yolo9000 train-classifier --resume'"):
        _resume(last)
    old = _saved_run(tmp_path / "old", cls_run, None)  # a checkpoint from before the record: told by its options
    with pytest.raises(Yolo9000Error, match=f"^{re.escape(str(old))}: the checkpoint of another trainer's run \\(its "
                                            f"options --angle, --min-scale, --power are not 'train' options\\)"):
        _resume(old)


def test_joint_resume_keeps_the_original_network_option(tmp_path: Path) -> None:
    """A resumed joint run records the network it was started with (its retyped --model is accepted again)."""
    run = JointConfig(data=str(tmp_path / "d.yaml"), cls_data=str(tmp_path), model="yolo9000", imgsz=416,
                      project=str(tmp_path / "runs"), name="r")
    last = _saved_run(tmp_path, run, "train-joint")
    cfg = resume_config(JointConfig(data=run.data, cls_data=run.cls_data, model="yolo9000", val=False,
                                    project=run.project, name="r", resume=True), last,
                        {"val": False}, "train-joint")[1]
    assert cfg.model == "yolo9000" and cfg.val is False
    with pytest.raises(Yolo9000Error, match=f"^{re.escape(str(last))}: --tree t.tree: a resume cannot change the "
                                            f"network's WordTree \\(this run: no --tree\\)"):
        resume_config(dataclasses.replace(cfg, tree="t.tree"), last, None, "train-joint")


def test_the_command_retyped_with_resume_added_trains_on(shapes_yaml: Path, small_cfg: Path, tmp_path: Path,
                                                         monkeypatch, capsys) -> None:
    """``yolo9000 train ... --resume`` with the run's own --data and --model (named relatively this time) and
    one more epoch goes on from last.pt; the checkpoint keeps the run's own spelling of its data and says which
    trainer wrote it."""
    def argv(data: str, model: str, epochs: int, *extra: str) -> list[str]:
        return ["train", "--data", data, "--model", model, "--imgsz", "64", "--batch", "4", "--epochs", str(epochs),
                "--min-size", "64", "--max-size", "64", "--workers", "0", "--no-tensorboard", "--val-every", "0",
                "--train-eval", "0", "--project", str(tmp_path), "--name", "r", *extra]

    assert main(argv(str(shapes_yaml), str(small_cfg), 1)) == 0
    monkeypatch.chdir(shapes_yaml.parent)
    assert main(argv(shapes_yaml.name, os.path.relpath(small_cfg), 2, "--resume")) == 0, capsys.readouterr().err
    with open(tmp_path / "r" / "results.csv", newline="") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["1", "2"]
    state = torch.load(tmp_path / "r" / "weights" / "last.pt", weights_only=True)
    assert state["trainer"] == "train" and state["epoch"] == 1
    assert state["train_config"]["data"] == str(shapes_yaml) and state["train_config"]["model"] == str(small_cfg)
