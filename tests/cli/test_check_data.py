"""``yolo9000.cli.check_data``: the check-data command's table and exit codes."""
from __future__ import annotations

import argparse

from yolo9000.cli.check_data import add_check_data_parser, cmd_check_data

from tests.datasets.helpers import flat_voc


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="yolo9000")
    add_check_data_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["check-data", *argv])


def test_cli_check_data(tmp_path, capsys):
    y = flat_voc(tmp_path)
    a = _args(str(y), "--split", "train", "val")
    assert a.split == ["train", "val"]
    assert cmd_check_data(a) == 0
    out = capsys.readouterr().out
    assert "train" in out and "val" in out and "OK: no bad records" in out
    cat_row = next(line for line in out.splitlines() if line.startswith("cat "))
    assert cat_row.split() == ["cat", "2", "2", "1", "1"]  # train images, boxes; val images, boxes
    (y.parent / "annotations" / "v.xml").write_text("<annotation>")
    assert cmd_check_data(_args(str(y), "--split", "val", "--fast")) == 1
    out = capsys.readouterr().out
    assert "v.xml: malformed XML" in out and "FAILED: 1 bad records" in out
