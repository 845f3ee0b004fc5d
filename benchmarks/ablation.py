"""The paper's Table 2 in miniature: YOLOv2's mechanisms switched on one at a time, each row trained from
scratch with several seeds on a real dataset (default: the raccoon photos), scored by VOC07 mAP@0.5.

    .venv/bin/python benchmarks/ablation.py [--data data/raccoon.yaml] [--model yolov2-micro] [--imgsz 224] \
        [--epochs 50] [--seeds 0 1 2] [--obj-loss mse|bce] [--out runs/ablation] [--device cpu]

The path (each row adds one switch of ``yolo9000 train`` to the row above):

    baseline         --no-batchnorm --anchors hand --location offset --no-passthrough --no-multiscale
    batch norm       --batchnorm
    dimension priors --anchors auto            (k-means, 1 - IoU, of the training boxes)
    location         --location direct         (sigmoid-bounded centres)
    passthrough      --passthrough
    multi-scale      --multiscale
    hi-res detector  the multi-scale models evaluated at imgsz * 544/416 (no training)

Resumable row by row: every finished run is recorded in ``<out>/ablation.json`` and skipped when the
command is run again; a run killed mid-way resumes from its ``last.pt``. Writes ``<out>/ablation.md`` (mean
+- std per row, the change per step beside the paper's), ``<out>/ablation.png`` and the JSON. Not part of the
test suite: 45 to 100 minutes on two CPU cores with the defaults (18 runs of 2.5 to 6 minutes).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from yolo9000 import YOLO
from yolo9000.errors import Yolo9000Error
from yolo9000.fileio import atomic_write, write_json
from yolo9000.train.detect import TrainConfig, train
from yolo9000.train.loss import OBJ_LOSSES
from yolo9000.eval.validate import validate

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Row:
    """One step of the path: the switches it sets on top of the row above, and the paper's figures."""

    name: str
    switches: dict[str, Any] = field(default_factory=dict)
    paper_step: str = ""          # the paper's Table 2 column(s) this step stands for
    paper_change: float | None = None  # mAP change of that step in Table 2 (VOC 2007, points)
    paper_map: float | None = None     # Table 2's VOC 2007 mAP after that step
    eval_only: bool = False       # no training: the row above's models, evaluated at the hi-res size


BASELINE = {"batchnorm": False, "anchors": "hand", "location": "offset", "passthrough": False, "multiscale": False}
ROWS = (
    Row("baseline", BASELINE, "anchor boxes (without batch norm)"),
    Row("+ batch norm", {"batchnorm": True}, "batch norm", 2.4, 65.8),
    Row("+ dimension priors", {"anchors": "auto"}, "dimension priors + location prediction (together)", 4.8, 74.4),
    Row("+ direct location", {"location": "direct"}, "(in the step above)"),
    Row("+ passthrough", {"passthrough": True}, "passthrough", 1.0, 75.4),
    Row("+ multi-scale", {"multiscale": True}, "multi-scale", 1.4, 76.8),
    Row("+ hi-res detector", {}, "hi-res detector (416 -> 544)", 1.8, 78.6, eval_only=True),
)
PAPER_NOTE = ("The paper's steps not reproduced here: the high-resolution classifier (+3.7; it needs ImageNet "
              "pre-training) and the new network (+0.4; the network is fixed here).")


def row_settings(index: int) -> dict[str, Any]:
    """The cumulative switches of row ``index`` (the baseline's, then every later row's on top)."""
    out: dict[str, Any] = {}
    for row in ROWS[: index + 1]:
        out.update(row.switches)
    return out


def run_name(index: int, seed: int) -> str:
    return f"row{index}-seed{seed}"


def train_one(a: argparse.Namespace, index: int, seed: int) -> dict[str, Any]:
    """Train row ``index`` with ``seed`` (resuming a killed run), score it; returns its record."""
    runs = Path(a.out) / "runs"
    name = run_name(index, seed)
    folder = runs / name
    resume = (folder / "weights" / "last.pt").is_file()
    cfg = TrainConfig(data=a.data, model=a.model, imgsz=a.imgsz, epochs=a.epochs, batch=a.batch, lr=a.lr,
                      burn_in=a.burn_in, optimizer="sgd", box_loss="mse", class_scale=1.0, seed=seed,
                      device=a.device, workers=a.workers, val_every=0,
                      train_eval=0, tensorboard=False, project=str(runs), name=name,
                      exist_ok=folder.exists(), resume=resume, obj_loss=a.obj_loss,
                      **{"anchors": "model", **row_settings(index)})
    t0 = time.perf_counter()
    record: dict[str, Any] = {"row": index, "seed": seed, "settings": row_settings(index)}
    try:
        train(cfg)
    except Yolo9000Error as e:  # a diverged run (non-finite loss) is a result, not a crash of the table
        record.update(mAP50=0.0, failed=str(e), seconds=round(time.perf_counter() - t0, 1))
        return record
    record["seconds"] = round(time.perf_counter() - t0, 1)
    record["mAP50"] = score(a, folder, a.imgsz)
    return record


def score(a: argparse.Namespace, folder: Path, imgsz: int) -> float:
    yolo = YOLO(folder / "weights" / "last.pt", device=a.device)
    return float(validate(yolo, a.data, split=a.split, metric="voc07", imgsz=imgsz).mAP)


def summarise(records: dict[str, dict[str, Any]], seeds: list[int]) -> list[dict[str, Any]]:
    """Per row: mean and sample std of mAP over the seeds present, and the change from the row above."""
    table, prev = [], None
    for i, row in enumerate(ROWS):
        maps = [records[run_name(i, s)]["mAP50"] for s in seeds if run_name(i, s) in records]
        failed = sum(1 for s in seeds if "failed" in records.get(run_name(i, s), {}))
        mean = statistics.fmean(maps) if maps else math.nan
        std = statistics.stdev(maps) if len(maps) > 1 else math.nan
        table.append({"row": row.name, "n": len(maps), "failed": failed, "mean": mean, "std": std,
                      "change": mean - prev if prev is not None and maps else math.nan,
                      "paper_step": row.paper_step, "paper_change": row.paper_change, "paper_map": row.paper_map,
                      "maps": maps})
        prev = mean if maps else prev
    return table


def markdown(table: list[dict[str, Any]], a: argparse.Namespace, machine: str) -> str:
    def pts(v: float) -> str:
        return "" if v is None or math.isnan(v) else f"{100 * v:+.1f}"

    lines = [f"Table 2 in miniature: {a.model} from scratch on {Path(a.data).name}, {a.epochs} epochs at {a.imgsz} "
             f"(hi-res detector: {a.hires}), batch {a.batch}, lr {a.lr}, seeds {' '.join(map(str, a.seeds))}; "
             f"VOC07 mAP@0.5 on the '{a.split}' split. {machine}.", "",
             "| row | mAP@0.5 (mean ± std) | per seed | change | paper's step | paper's change | paper's mAP |",
             "|---|---|---|---|---|---|---|"]
    for r in table:
        mean = "—" if math.isnan(r["mean"]) else f"{100 * r['mean']:.1f}" + (
            "" if math.isnan(r["std"]) else f" ± {100 * r['std']:.1f}")
        seeds = " ".join(f"{100 * m:.1f}" for m in r["maps"]) + (f" ({r['failed']} diverged)" if r["failed"] else "")
        paper = "" if r["paper_change"] is None else f"{r['paper_change']:+.1f}"
        paper_map = "" if r["paper_map"] is None else f"{r['paper_map']:.1f}"
        lines.append(f"| {r['row']} | {mean} | {seeds} | {pts(r['change'])} | {r['paper_step']} | {paper} "
                     f"| {paper_map} |")
    lines += ["", "mAP and changes in points (x100). " + PAPER_NOTE]
    return "\n".join(lines) + "\n"


def plot(table: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.4), gridspec_kw={"width_ratios": [3, 2]})
    xs = list(range(len(table)))
    for x, r in zip(xs, table):
        ax.scatter([x] * len(r["maps"]), [100 * m for m in r["maps"]], color="0.6", s=14, zorder=2)
    means = [100 * r["mean"] for r in table]
    stds = [0.0 if math.isnan(r["std"]) else 100 * r["std"] for r in table]
    ax.errorbar(xs, means, yerr=stds, fmt="o-", color="C0", capsize=4, zorder=3, label="mean ± std over seeds")
    ax.set_xticks(xs, [r["row"] for r in table], rotation=25, ha="right")
    ax.set_ylabel("VOC07 mAP@0.5 (%)")
    ax.set_title("the path, one mechanism at a time")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    # change per step: this run's against the paper's (dimension priors + location are one step there)
    steps = [r for r in table[1:]]
    ours = [0.0 if math.isnan(r["change"]) else 100 * r["change"] for r in steps]
    paper = [r["paper_change"] if r["paper_change"] is not None else 0.0 for r in steps]
    ys = list(range(len(steps)))
    bx.barh([y - 0.2 for y in ys], ours, height=0.4, color="C0", label="this run")
    bx.barh([y + 0.2 for y in ys], paper, height=0.4, color="C1", label="paper (VOC 2007)")
    bx.set_yticks(ys, [r["row"] for r in steps])
    bx.invert_yaxis()
    bx.axvline(0, color="0.3", lw=0.8)
    bx.set_xlabel("mAP change per step (points)")
    bx.set_title("change per step")
    bx.grid(alpha=0.3, axis="x")
    bx.legend(loc="best", fontsize=8)
    fig.tight_layout()
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "data" / "raccoon.yaml"))
    ap.add_argument("--split", default="val")
    ap.add_argument("--model", default="yolov2-micro")
    ap.add_argument("--imgsz", type=int, default=224)
    ap.add_argument("--hires", type=int, default=None, help="hi-res detector size (default imgsz*544/416)")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--burn-in", type=int, default=100)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rows", type=int, nargs="+", default=None, help="only these rows (0-based), e.g. to spread runs")
    ap.add_argument("--obj-loss", default="mse", choices=OBJ_LOSSES,
                    help="every row's objectness loss: mse (darknet's, as the paper trained; the default) "
                         "or bce (the cross-entropy of the logit)")
    ap.add_argument("--out", default=str(ROOT / "runs" / "ablation"))
    a = ap.parse_args()
    if len(a.seeds) < 1:
        raise SystemExit("ablation: give at least one seed")
    a.hires = a.hires or round(a.imgsz * 544 / 416 / 32) * 32
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / "ablation.json"
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    records: dict[str, dict[str, Any]] = state.get("records", {})
    before = state.get("settings", {}).get("obj_loss", "mse")
    if records and before != a.obj_loss:
        raise SystemExit(f"yolo9000: error: {state_path}: its runs were trained with --obj-loss {before}; "
                         f"give another --out for --obj-loss {a.obj_loss}")
    machine = f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), torch {torch.__version__}"
    if a.device.startswith("cuda"):
        machine = f"{torch.cuda.get_device_name()}, torch {torch.__version__}"
    for i, row in enumerate(ROWS):
        if a.rows is not None and i not in a.rows:
            continue
        for seed in a.seeds:
            key = run_name(i, seed)
            if key in records:
                continue
            if row.eval_only:  # the row above's models at the hi-res size
                above = run_name(i - 1, seed)
                if above not in records or "failed" in records[above]:
                    continue
                records[key] = {"row": i, "seed": seed, "imgsz": a.hires,
                                "mAP50": score(a, out / "runs" / above, a.hires)}
            else:
                records[key] = train_one(a, i, seed)
            print(f"ablation: {row.name}, seed {seed}: VOC07 mAP@0.5 {records[key]['mAP50']:.4f}", flush=True)
            write_json({"settings": {k: v for k, v in vars(a).items()}, "machine": machine, "records": records,
                        "rows": [asdict(r) for r in ROWS]}, state_path, indent=1)
    table = summarise(records, a.seeds)
    with atomic_write(out / "ablation.md", "w") as f:
        f.write(markdown(table, a, machine))
    plot(table, out / "ablation.png")
    print(markdown(table, a, machine))


if __name__ == "__main__":
    main()
