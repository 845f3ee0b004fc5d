"""Every error a user can reach is a :class:`~yolo9000.errors.Yolo9000Error` (project issue 23, item 5): the
Python API's bad names, networks and arguments too. The subclasses keep the built-in class each site raised
before (``ValueError``, ``KeyError``), so ``except ValueError`` in a caller keeps working."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from yolo9000 import YOLO, ZOO, zoo_config
from yolo9000.darknet.cfg import parse_cfg_text
from yolo9000.datasets.check import DatasetReport, SplitReport
from yolo9000.errors import ConfigError, UnknownNameError, UsageError, Yolo9000Error
from yolo9000.models.darknet import ConvSpec, DarknetConfig, NetSpec, check_config
from yolo9000.models.edit import with_anchors, with_classes, with_location
from yolo9000.predict.results import Boxes


@pytest.mark.parametrize("cls, builtin", [(ConfigError, ValueError), (UsageError, ValueError),
                                          (UnknownNameError, KeyError)])
def test_the_subclasses_are_both(cls: type, builtin: type) -> None:
    assert issubclass(cls, Yolo9000Error) and issubclass(cls, builtin)


def test_zoo_config_unknown_name() -> None:
    with pytest.raises(UnknownNameError) as e:
        zoo_config("nosuch")
    assert isinstance(e.value, KeyError)
    assert str(e.value) == f"nosuch: not a zoo model; the zoo has: {', '.join(ZOO)}"  # not quoted as KeyError's


def test_yolo_unknown_name() -> None:
    with pytest.raises(Yolo9000Error, match=r"^nosuch: not a zoo model \(darknet19, .*\), a \.cfg file or a "
                                            r"checkpoint$"):
        YOLO("nosuch")


def test_zoo_switches_refuse_what_they_cannot_change() -> None:
    with pytest.raises(ConfigError, match=r"^yolo9000: a WordTree head \(9418 tree nodes\) cannot change its class "
                                          r"count to 3$"):
        with_classes(zoo_config("yolo9000"), 3)
    classifier = zoo_config("darknet19")
    for change in (lambda: with_classes(classifier, 3), lambda: with_anchors(classifier, (1.0, 1.0)),
                   lambda: with_location(classifier, "offset")):
        with pytest.raises(ValueError, match=r"^darknet19: not a detector$"):  # a ConfigError, still a ValueError
            change()


def test_check_config_is_a_config_error_and_a_cfg_file_names_its_line() -> None:
    config = DarknetConfig("x", NetSpec(), (ConvSpec(8, 3, 1, -1),))
    with pytest.raises(ConfigError, match=r"^layer 0 \(convolutional\): padding=-1 must be >= 0$"):
        check_config(config)
    text = "[net]\nwidth=64\nheight=64\nchannels=3\n[convolutional]\nfilters=8\nsize=3\npadding=-1\n"
    with pytest.raises(Yolo9000Error) as e:  # the parser adds the file and the line
        parse_cfg_text(text, "bad.cfg")
    assert str(e.value) == "bad.cfg:8: layer 0 (convolutional): padding=-1 must be >= 0"


def test_report_split_unknown_name() -> None:
    split = SplitReport("train", 0, 0, 0, 0, (0,), (0,), (), ())
    report = DatasetReport(Path("d.yaml"), "voc", Path("."), ("cat",), (split,))
    assert report.split("train") is split
    with pytest.raises(KeyError) as e:
        report.split("tset")
    assert isinstance(e.value, UnknownNameError) and str(e.value) == "d.yaml: no split 'tset' (it has: train)"


def test_results_arguments_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="must agree"):
        Boxes(torch.zeros(2, 4), torch.zeros(1), torch.zeros(2), (10, 10))
