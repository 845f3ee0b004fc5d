"""Counts in words (``yolo9000.words``), and the messages that use them: "1 image", never "1 images"."""
from __future__ import annotations

import pytest

from yolo9000.cli.app import main
from yolo9000.version import __version__
from yolo9000.words import count, plural


@pytest.mark.parametrize("noun, many", [("image", "images"), ("class", "classes"), ("box", "boxes"),
                                        ("detection", "detections"), ("match", "matches"),
                                        ("bad record", "bad records")])
def test_plural(noun, many):
    assert plural(noun) == many


def test_count_says_one_in_the_singular_and_the_rest_in_the_plural():
    assert [count(n, "class") for n in (0, 1, 2)] == ["0 classes", "1 class", "2 classes"]
    assert count(1, "top-5 row") == "1 top-5 row" and count(3, "top-5 row") == "3 top-5 rows"
    assert count(2, "child", "children") == "2 children" and count(1, "child", "children") == "1 child"


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"yolo9000 {__version__}"
