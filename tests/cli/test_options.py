"""Options are defined once, in their dataclass fields (:func:`yolo9000.fields.option`): the command line of
every subcommand built from one is built from its fields (defaults, help, choices), and the same metadata is
checked for the command line and for the Python API."""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
from typing import Any

import pytest

from yolo9000.cli.anchors import AnchorsOptions
from yolo9000.cli.app import ConvertOptions, build_parser
from yolo9000.cli.args import dataclass_from_args
from yolo9000.cli.download import DownloadOptions
from yolo9000.cli.score import ScoreOptions
from yolo9000.errors import Yolo9000Error
from yolo9000.eval.options import ValOptions
from yolo9000.eval.validate import validate
from yolo9000.fields import Bounds, check_fields, field_flag, option
from yolo9000.predict.benchmark import BenchmarkConfig
from yolo9000.predict.export import ExportOptions
from yolo9000.predict.options import PredictOptions
from yolo9000.predict.predictor import Predictor
from yolo9000.train.checks import check_run_options
from yolo9000.train.classify import ClassifyConfig
from yolo9000.train.detect import TrainConfig
from yolo9000.train.joint import JointConfig

# subcommand -> (its options dataclass, the arguments it requires, the same as the dataclass's keywords)
COMMANDS: dict[str, tuple[type, list[str], dict[str, Any]]] = {
    "predict": (PredictOptions, ["x.jpg", "--model", "m"], {"model": "m"}),
    "val": (ValOptions, ["--data", "d.yaml", "--model", "m"], {"data": "d.yaml", "model": "m"}),
    "train": (TrainConfig, [], {}),
    "train-classifier": (ClassifyConfig, ["--data", "d"], {"data": "d"}),
    "train-joint": (JointConfig, [], {}),
    "export": (ExportOptions, ["--model", "m", "-o", "x.onnx"], {}),
    "convert": (ConvertOptions, ["--model", "m", "-o", "x.pt"], {"model": "m", "output": "x.pt"}),
    "score": (ScoreOptions, ["--gt", "g.json", "--dets", "d.json"], {"gt": "g.json", "dets": "d.json"}),
    "anchors": (AnchorsOptions, ["--data", "d.yaml"], {"data": "d.yaml"}),
    "benchmark": (BenchmarkConfig, ["--model", "m"], {"model": "m"}),
    "download": (DownloadOptions, [], {}),
}
CHOICES = [(command, f) for command, (cls, _, _) in COMMANDS.items() for f in dataclasses.fields(cls)
           if "choices" in f.metadata]


def _subparser(command: str) -> argparse.ArgumentParser:
    return build_parser()._subparsers._group_actions[0].choices[command]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_cli_defaults_are_the_dataclass_defaults(command: str) -> None:
    cls, argv, required = COMMANDS[command]
    a = build_parser().parse_args([command, *argv])
    assert dataclass_from_args(cls, a) == cls(**required)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_flagged_field_is_a_flag_with_its_help(command: str) -> None:
    cls = COMMANDS[command][0]
    text = " ".join(_subparser(command).format_help().split())
    for f in dataclasses.fields(cls):
        if f.metadata.get("flags") == ():  # Python-only
            continue
        flag = field_flag(f)
        assert flag in text, flag
        assert " ".join(f.metadata["help"].split())[:40] in text, flag


def test_the_closed_sets_have_choices() -> None:
    named = {(c, f.name) for c, f in CHOICES}
    for command in ("train", "train-joint"):
        for name in ("amp_dtype", "obj_loss", "box_loss", "optimizer"):
            assert (command, name) in named, (command, name)
    assert {("train", "location"), ("train", "anchors"), ("train", "preset"), ("train-joint", "objectness"),
            ("train-classifier", "amp_dtype"), ("predict", "precision"), ("val", "metric"), ("score", "metric"),
            ("benchmark", "precision")} <= named


@pytest.mark.parametrize("command, f", CHOICES, ids=[f"{c}-{f.name}" for c, f in CHOICES])
def test_a_closed_set_shows_its_choices_and_refuses_another_word(command: str, f: dataclasses.Field,
                                                                 capsys) -> None:
    cls, argv, required = COMMANDS[command]
    flag, choices = field_flag(f), f.metadata["choices"]
    text = " ".join(_subparser(command).format_help().split())
    assert f"{flag} {{{','.join(choices)}}}" in text
    with pytest.raises(SystemExit) as e:  # the command line: argparse's usage error, its last line the reason
        build_parser().parse_args([command, *argv, flag, "bogus"])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert e.value.code == 2 and last == f"yolo9000 {command}: error: argument {flag}: invalid choice: 'bogus' " \
                                         f"(choose from {', '.join(map(repr, choices))})"
    # the Python API: the same metadata, one line naming the flag
    words = f"{', '.join(choices[:-1])} or {choices[-1]}" if len(choices) > 1 else choices[0]
    with pytest.raises(Yolo9000Error, match=f"^{re.escape(flag)} bogus: choose {re.escape(words)}$"):
        check_fields(cls(**required, **{f.name: "bogus"}))


@pytest.mark.parametrize("cls, bad, message", [
    (TrainConfig, {"obj_loss": "x"}, "--obj-loss x: choose mse, bce or mixed"),
    (TrainConfig, {"amp_dtype": "fp8"}, "--amp-dtype fp8: choose auto, fp16 or bf16"),
    (TrainConfig, {"location": "sideways"}, "--location sideways: choose direct or offset"),
    (JointConfig, {"objectness": "sometimes"}, "--objectness sometimes: choose paper or darknet"),
    (JointConfig, {"det_ratio": 1.0}, "--det-ratio 1.0: must lie in (0, 1)"),
    (ClassifyConfig, {"data": "d", "angle": 200.0}, "--angle 200.0: must lie in [0, 180] (degrees)"),
    (TrainConfig, {"patience": -1}, "--patience -1: must be >= 0 (0: off)"),
    (TrainConfig, {"min_size": 100}, "--min-size 100: must be a positive multiple of 32"),
])
def test_the_trainers_check_runs_the_metadata(cls: type, bad: dict, message: str) -> None:
    with pytest.raises(Yolo9000Error) as e:
        check_run_options(cls(**bad))
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_a_range_given_on_the_command_line_is_one_line(capsys) -> None:
    with pytest.raises(Yolo9000Error, match=r"^--opset 5: must be at least 18 \(torch's ONNX exporter"):
        dataclass_from_args(ExportOptions, build_parser().parse_args(["export", "--model", "m", "-o", "x.onnx",
                                                                      "--opset", "5"]))
    with pytest.raises(Yolo9000Error, match=r"^-k 0: must be at least 1$"):
        dataclass_from_args(AnchorsOptions, build_parser().parse_args(["anchors", "--data", "d.yaml", "-k", "0"]))


def test_alternatives_are_one_of() -> None:
    with pytest.raises(Yolo9000Error, match="^give one of --data or --coco-json$"):
        check_fields(AnchorsOptions())
    with pytest.raises(Yolo9000Error, match=r"^give one of --data or --coco-json \(not --data and --coco-json\)$"):
        check_fields(AnchorsOptions(data="d.yaml", coco_json="c.json"))
    with pytest.raises(SystemExit):
        build_parser().parse_args(["anchors", "--data", "d.yaml", "--coco-json", "c.json"])


def test_bounds_and_their_words() -> None:
    b = Bounds.parse("[0, 1)")
    assert b.holds(0) and b.holds(0.5) and not b.holds(1) and not b.holds(-0.1)
    assert b.need(whole=False) == "must lie in [0, 1)"
    assert Bounds.parse("[0, 10]").need(whole=True) == "must be a whole number from 0 to 10"
    assert Bounds(low=1).need(whole=True) == "must be at least 1" and Bounds(low=0).need(whole=True) == "must be >= 0"
    assert Bounds(low=0).need(whole=False) == "must be a finite number >= 0"
    with pytest.raises(ValueError):
        option(0, "x", range="0..1")
    with pytest.raises(ValueError):
        option(0, "x", min=0, range="[0, 1]")


def test_python_only_fields_and_one_batch_default() -> None:
    flags = " ".join(_subparser("export").format_help().split())
    assert "--tolerance" not in flags and "--seed" not in flags  # ExportOptions' Python-only fields
    # predict's batch: the CLI's default is the Python API's
    assert inspect.signature(Predictor.predict).parameters["batch"].default == PredictOptions(model="m").batch == 4
    # validate's: each of its defaults is `yolo9000 val`'s
    params = inspect.signature(validate).parameters
    defaults = ValOptions(data="d", model="m")
    for name in ("split", "metric", "conf", "nms", "iou", "plus1", "batch", "conf_report", "skip_bad", "exist_ok"):
        assert params[name].default == getattr(defaults, name), name
