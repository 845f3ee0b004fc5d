"""The command-line tests run in a temporary working folder of their own: what a command writes by default
(``runs/val``, ``runs/train``) lands there, never in the checkout."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_working_folder(tmp_path_factory, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
