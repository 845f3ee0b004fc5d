"""``yolo9000 score``: detections (COCO results JSON) scored against ground truth (COCO JSON); its flags
are :class:`ScoreOptions`' fields."""
from __future__ import annotations

import argparse
from dataclasses import dataclass

from yolo9000.cli.args import add_dataclass_args, dataclass_from_args
from yolo9000.fields import option
from yolo9000.fileio import check_outputs
from yolo9000.metrics import load_detections, load_ground_truth
from yolo9000.metrics.report import METRICS, Result, evaluate, format_table, write_result_json


@dataclass(frozen=True)
class ScoreOptions:
    """``yolo9000 score``'s options: field names are the flags."""

    gt: str = option(help="COCO instances JSON (an extra 'difficult' 0/1 is honoured by VOC)")
    dets: str = option(help="COCO results JSON list")
    metric: str = option("voc07", "voc07 (11-point, darknet's and the paper's VOC 2007), voc (area) or coco",
                         choices=METRICS)
    iou: float = option(0.5, "IoU threshold of the VOC metrics (strictly above)")
    plus1: bool = option(True, "VOC metrics: widths x2 - x1 + 1, as the reference code (--no-plus1: x2 - x1)")
    json: str | None = option(None, "write the result as JSON here")


def add_score_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``score --gt GT --dets DETS [--metric M] [--iou T] [--no-plus1] [--json OUT]``."""
    p = sub.add_parser("score", help="score detections (COCO results JSON) against ground truth (COCO JSON)")
    add_dataclass_args(p, ScoreOptions)


def score(o: ScoreOptions) -> Result:
    """The score of ``o.dets`` against ``o.gt``, written to ``o.json`` when given."""
    check_outputs({"--json": o.json}, reads=[o.gt, o.dets])
    gt = load_ground_truth(o.gt)
    result = evaluate(gt, load_detections(o.dets, gt), o.metric, o.iou, o.plus1)
    if o.json:  # first: a write that fails leaves no table behind
        write_result_json(result, o.json)
    return result


def cmd_score(a: argparse.Namespace) -> int:
    print(format_table(score(dataclass_from_args(ScoreOptions, a))))
    return 0
