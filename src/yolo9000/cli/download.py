"""``yolo9000 download``: darknet's published weights by name into the cache; its arguments are
:class:`DownloadOptions`' fields."""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from yolo9000.cli.args import add_dataclass_args, dataclass_from_args
from yolo9000.darknet import hub
from yolo9000.darknet.hub import DEFAULT_HOME, ENV_URL, WeightsFile, download, find
from yolo9000.errors import Yolo9000Error
from yolo9000.fields import option
from yolo9000.paths import HOME_ENV as ENV_HOME


# -------------------------------------------------------------------------------------------- the command
@dataclass(frozen=True)
class DownloadOptions:
    """``yolo9000 download``'s arguments: the file names (positional) and the flags."""

    names: tuple[str, ...] = option((), "file names from --list, e.g. yolov2-voc.weights", flags=("names",),
                                    metavar="NAME")
    force: bool = option(False, "download again even if cached")
    table: bool = option(False, "print the table: name, bytes, model, URL", flags=("--list",))


def add_download_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``download NAME... [--force]`` and ``download --list``."""
    p = sub.add_parser("download", help="fetch darknet's published weights into the cache",
                       description=f"Fetch darknet's .weights files by name into the cache "
                                   f"(${ENV_HOME}/weights, default {DEFAULT_HOME}/weights; mirror: ${ENV_URL}). "
                                   f"--weights NAME downloads the same way on first use.")
    add_dataclass_args(p, DownloadOptions)


def format_table(table: Sequence[WeightsFile] | None = None) -> str:
    """The ``download --list`` table: name, size in bytes, fitting zoo model, URL."""
    rows = [("name", "bytes", "model", "url")]
    rows += [(e.name, f"{e.size:,}", e.fits, e.url()) for e in (hub.WEIGHTS if table is None else table)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows)


def cmd_download(a: argparse.Namespace) -> int:
    """Print the table (``--list``) or each downloaded file's path, one per line on stdout."""
    o = dataclass_from_args(DownloadOptions, a)
    if o.table:
        print(format_table())
        if not o.names:
            return 0
    if not o.names:
        raise Yolo9000Error("download: name the files to fetch (see 'yolo9000 download --list')")
    entries = []
    for name in o.names:
        entry = find(name) or find(f"{name}.weights")
        if entry is None:
            raise Yolo9000Error(f"download: {name!r} is not one of darknet's files here: "
                                f"{', '.join(e.name for e in hub.WEIGHTS)} (see 'yolo9000 download --list')")
        entries.append(entry)
    for entry in entries:
        print(download(entry, force=o.force))
    return 0
