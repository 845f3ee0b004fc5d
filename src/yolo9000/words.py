"""Counts in words, for messages: ``count(1, "image")`` is ``"1 image"``, ``count(3, "box")`` ``"3 boxes"``."""
from __future__ import annotations


def plural(noun: str) -> str:
    """English plural of a regular noun: ``class`` -> ``classes``, ``box`` -> ``boxes``, ``image`` -> ``images``."""
    return noun + ("es" if noun.endswith(("s", "x", "z", "ch", "sh")) else "s")


def count(n: int, noun: str, many: str | None = None) -> str:
    """``n`` and ``noun``, in the plural (``many``, default :func:`plural`) unless ``n`` is 1."""
    return f"{n} {noun if n == 1 else many or plural(noun)}"
