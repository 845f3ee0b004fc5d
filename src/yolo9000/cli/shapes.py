"""``yolo9000 shapes``: the generated demo datasets."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from yolo9000.datasets.shapes import DEFAULT_CLASSES, MANIFEST, SHAPES, _build


# ------------------------------------------------------------------------------------------------- CLI
def add_shapes_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``shapes [--out DIR] [--train N] [--val N] [--size S] [--seed S] [--classes A,B,..]``."""
    p = subparsers.add_parser(
        "shapes", help="generate a small shapes detection dataset (YOLO txt, no download)",
        description="Generate coloured shapes on textured backgrounds with tight YOLO txt boxes: DIR/shapes.yaml, "
                    "DIR/images/{train,val}/*.png, DIR/labels/{train,val}/*.txt. A complete set made with the "
                    "same options is reused.")
    p.add_argument("--out", default="datasets/shapes", help="dataset folder (default: datasets/shapes)")
    p.add_argument("--train", type=int, default=2000, help="train images (default 2000)")
    p.add_argument("--val", type=int, default=100, help="val images (default 100)")
    p.add_argument("--size", type=int, default=160, help="image side in pixels (default 160)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--classes", default=",".join(DEFAULT_CLASSES),
                   help=f"comma-separated shape names (default {','.join(DEFAULT_CLASSES)}; "
                        f"available: {','.join(SHAPES)})")
    return p


def cmd_shapes(args: argparse.Namespace) -> int:
    """Make (or reuse) the set and print where its YAML is."""
    t0 = time.perf_counter()
    path, reused = _build(Path(args.out), args.train, args.val, args.size, args.seed,
                          getattr(args, "classes", DEFAULT_CLASSES))
    manifest = json.loads((path.parent / MANIFEST).read_text(encoding="utf-8"))["params"]
    what = (f"{manifest['n_train']} train / {manifest['n_val']} val images of {manifest['size']}x{manifest['size']}, "
            f"classes {', '.join(manifest['classes'])}")
    how = "reused the existing set" if reused else f"made in {time.perf_counter() - t0:.1f} s"
    print(f"{path}: {what} ({how})")
    return 0
