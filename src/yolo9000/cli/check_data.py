"""``yolo9000 check-data``: every record of a dataset YAML checked, per split and class."""
from __future__ import annotations

import argparse

from yolo9000.datasets.check import check_dataset


def add_check_data_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``check-data DATA.yaml [--split S ...] [--fast]`` to a CLI's subparsers."""
    p = subparsers.add_parser("check-data", help="check a dataset: counts per class and split, and every bad record",
                              description="Check a dataset YAML: per-split, per-class counts and every bad record "
                                          "(exit 0 when clean, 1 when bad records were found).")
    p.add_argument("data", help="dataset YAML")
    p.add_argument("--split", action="extend", nargs="+", default=None, metavar="SPLIT",
                   help="splits to check (default: all the YAML has)")
    p.add_argument("--fast", action="store_true", help="read image headers only instead of decoding every image")
    p.add_argument("--max-warnings", type=int, default=20, help="warnings printed per kind (default 20)")
    return p


def cmd_check_data(args: argparse.Namespace) -> int:
    """Print the table and the problems; 0 if no bad records, 1 otherwise (config errors raise)."""
    report = check_dataset(args.data, args.split, decode=not getattr(args, "fast", False))
    print(report.table())
    problems = report.format_problems(getattr(args, "max_warnings", 20))
    if problems:
        print()
        print(problems)
    print()
    print("OK: no bad records" if report.ok else f"FAILED: {len(report.issues)} bad records")
    return 0 if report.ok else 1
