"""``yolo9000 shapes``: the generated demo datasets."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from yolo9000.cli.args import add_dataclass_args, dataclass_from_args
from yolo9000.datasets.shapes import MANIFEST, ShapesOptions, _build


# ------------------------------------------------------------------------------------------------- CLI
def add_shapes_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``shapes [--out DIR] [--train N] [--val N] [--size S] [--seed S] [--classes A,B,..]``."""
    p = subparsers.add_parser(
        "shapes", help="generate a small shapes detection dataset (YOLO txt, no download)",
        description="Generate coloured shapes on textured backgrounds with tight YOLO txt boxes: DIR/shapes.yaml, "
                    "DIR/images/{train,val}/*.png, DIR/labels/{train,val}/*.txt. A complete set made with the "
                    "same options is reused.")
    add_dataclass_args(p, ShapesOptions)
    return p


def cmd_shapes(args: argparse.Namespace) -> int:
    """Make (or reuse) the set and print where its YAML is."""
    o = dataclass_from_args(ShapesOptions, args)
    t0 = time.perf_counter()
    path, reused = _build(Path(o.out), o.train, o.val, o.size, o.seed, o.classes)
    manifest = json.loads((path.parent / MANIFEST).read_text(encoding="utf-8"))["params"]
    what = (f"{manifest['n_train']} train / {manifest['n_val']} val images of {manifest['size']}x{manifest['size']}, "
            f"classes {', '.join(manifest['classes'])}")
    how = "reused the existing set" if reused else f"made in {time.perf_counter() - t0:.1f} s"
    print(f"{path}: {what} ({how})")
    return 0
