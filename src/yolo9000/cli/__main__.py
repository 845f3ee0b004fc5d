"""``python -m yolo9000.cli`` (what ``torchrun -m yolo9000.cli train ...`` runs)."""
import sys

from yolo9000.cli.app import main

if __name__ == "__main__":
    sys.exit(main())
