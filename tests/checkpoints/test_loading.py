"""Networks from files (checkpoints/loading.py): what a checkpoint's class names may be."""
from __future__ import annotations

import pytest

from yolo9000.checkpoints.loading import names_problem


@pytest.mark.parametrize("names, problem", [
    (["cat", "dog"], None),
    (("cat", "dog"), None),
    (["cat"], "its 'names' list holds 1 names for the network's 2 classes"),
    ([], "its 'names' list is empty"),
    ("catdog", "its 'names' are not a list of class names ('catdog')"),
    ([1, 2], "its 'names' are not a list of class names ([1, 2])"),
    (["cat", ""], "its 'names' are not a list of class names (['cat', ''])"),
    (["cat", "d\nog"], "its 'names' are not a list of class names (['cat', 'd\\nog'])"),
    ({"0": "cat"}, "its 'names' are not a list of class names ({'0': 'cat'})"),
    (["x" * 80, "a class"], None),
])
def test_names_problem(names: object, problem: str | None) -> None:
    assert names_problem(names, 2) == problem
