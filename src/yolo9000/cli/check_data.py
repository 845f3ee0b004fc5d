"""``yolo9000 check-data``: every record of a dataset YAML checked, per split and class."""
from __future__ import annotations

import argparse

from yolo9000.cli.args import add_dataclass_args, dataclass_from_args
from yolo9000.datasets.check import CheckDataOptions, check_dataset


def add_check_data_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``check-data DATA.yaml [--split S ...] [--fast]`` to a CLI's subparsers."""
    p = subparsers.add_parser("check-data", help="check a dataset: counts per class and split, and every bad record",
                              description="Check a dataset YAML: per-split, per-class counts and every bad record "
                                          "(exit 0 when clean, 1 when bad records were found).")
    add_dataclass_args(p, CheckDataOptions)
    return p


def cmd_check_data(args: argparse.Namespace) -> int:
    """Print the table and the problems; 0 if no bad records, 1 otherwise (config errors raise)."""
    o = dataclass_from_args(CheckDataOptions, args)
    report = check_dataset(o.data, o.split, decode=not o.fast)
    print(report.table())
    problems = report.format_problems(o.max_warnings)
    if problems:
        print()
        print(problems)
    print()
    print("OK: no bad records" if report.ok else f"FAILED: {len(report.issues)} bad records")
    return 0 if report.ok else 1
