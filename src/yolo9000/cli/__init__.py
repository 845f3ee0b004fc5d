"""The ``yolo9000`` command: its parser and one function per subcommand (:mod:`.app`), the dataclass ->
flags path they share (:mod:`.args`); ``python -m yolo9000.cli`` (:mod:`.__main__`)."""
from yolo9000.cli.app import main

__all__ = ["main"]
