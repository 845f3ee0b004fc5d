"""``python -m yolo9000``: the ``yolo9000`` command."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
