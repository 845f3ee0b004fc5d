"""The one line every ``--skip-bad`` notice is (:func:`yolo9000.datasets.loader.skipped_line`): where, the flag,
the count and the noun, then the first three items and how many more."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from yolo9000.datasets.loader import SKIP_BAD_FLAG, skipped_line, warn_skipped


@pytest.mark.parametrize("left_out, line", [
    (["a.png"], "d/train: --skip-bad left out 1 unreadable image: a.png"),
    (["a.png", "b.png"], "d/train: --skip-bad left out 2 unreadable images: a.png; b.png"),
    (["a.png", "b.png", "c.png"], "d/train: --skip-bad left out 3 unreadable images: a.png; b.png; c.png"),
    ([f"{k}.png" for k in range(7)],
     "d/train: --skip-bad left out 7 unreadable images: 0.png; 1.png; 2.png; ... (4 more)"),
])
def test_skipped_line(left_out: list[str], line: str) -> None:
    assert SKIP_BAD_FLAG == "--skip-bad"
    assert skipped_line(Path("d/train"), "unreadable image", left_out) == line


def test_skipped_line_shows_items_as_str_gives_them() -> None:
    """Paths and ``Issue`` s (``file: reason``) alike; ``shown`` sets how many."""
    left = [Path("x/a.jpg"), Path("x/b.jpg")]
    assert skipped_line("y.yaml: split 'val'", "bad record", left, shown=1) == \
        "y.yaml: split 'val': --skip-bad left out 2 bad records: x/a.jpg; ... (1 more)"


def test_warn_skipped_is_one_warning_and_nothing_for_nothing() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_skipped("d", "unreadable image", [])
        assert caught == []
        warn_skipped("d", "unreadable image", ["d/a.png"])
    assert [str(w.message) for w in caught] == ["d: --skip-bad left out 1 unreadable image: d/a.png"]
    assert caught[0].category is UserWarning
