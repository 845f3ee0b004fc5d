"""``python -m yolo9000``: the ``yolo9000`` command."""
import sys

from yolo9000.cli.app import main

if __name__ == "__main__":
    sys.exit(main())
