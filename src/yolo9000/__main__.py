"""``python -m yolo9000``: the ``yolo9000`` command."""
import sys

from .cli import main

sys.exit(main())
