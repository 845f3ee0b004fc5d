"""Parity figures against darknet for every reference case: what the note reports.

usage: python benchmarks/parity_report.py [--weights-dir .cache/reference-weights]
"""
from __future__ import annotations

import argparse
import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from yolo9000.darknet.cfg import parse_cfg
from yolo9000.models.darknet import Darknet
from yolo9000.ops.letterbox import letterbox
from yolo9000.ops.region import decode_activated, region_activate, region_detections
from yolo9000.darknet.weights import load_darknet_weights
from yolo9000.wordtree.tree import load_tree

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT.parent / "shared/reference/darknet"
CFG = {"yolov2-voc": "yolov2-voc", "yolov2": "yolov2", "yolov2-tiny-voc": "yolov2-tiny-voc", "yolo9000": "yolo9000",
       "darknet19": "darknet19"}


def dets(path: Path) -> dict:
    with open(path) as f:
        return {(int(r["det_index"]), int(r["class"])): (float(r["prob"]), np.array([float(r[k]) for k in ("x1", "y1", "x2", "y2")]))
                for r in csv.DictReader(f)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights-dir", default=str(ROOT / ".cache/reference-weights"))
    a = ap.parse_args()
    wd = Path(a.weights_dir)
    if not (wd / "yolo9000.weights").is_file():
        subprocess.run([sys.executable, str(REF / "weights-recipe/make_weights.py"), "--all", "--out", str(wd)], check=True)
        subprocess.run([sys.executable, str(REF / "weights-recipe/make_weights.py"), "yolov2-tiny-voc", "--old-header",
                        "--out", str(wd)], check=True)
    print(f"{'case':<36}{'input':>9}{'head':>10}{'dets':>7}{'set (ours)':>12}{'set (dn out)':>13}{'prob':>9}{'corner px':>10}")
    for case_dir in sorted((REF / "cases").iterdir()):
        parts = case_dir.name.split("_")
        name, size = parts[0], int(parts[1])
        weights = wd / (name + (".oldheader" if case_dir.name.endswith("oldheader") else "") + ".weights")
        config = parse_cfg(REF / "cfg" / f"{CFG[name]}.cfg")
        model = Darknet(config).eval()
        load_darknet_weights(model, weights)
        img = np.load(case_dir / "image_u8.npy")
        inp = np.load(case_dir / "input.npy")
        d_in = np.abs(letterbox(img, size).numpy() - inp[0]).max()
        with torch.inference_mode():
            raw = model(torch.from_numpy(inp))
        out = np.load(case_dir / "output.npy")
        tree = load_tree(config.tree) if config.tree else None
        if config.region is None:
            probs = torch.softmax(raw, 1)
            with open(case_dir / "top5.csv") as f:
                ref_top = [int(r["class"]) for r in csv.DictReader(f)]
            same = probs[0].topk(5).indices.tolist() == ref_top
            print(f"{case_dir.name:<36}{d_in:9.1e}{np.abs(probs.numpy() - out).max():10.1e}   top-5 equal: {same}")
            continue
        act = region_activate(raw, config.region.num, tree)
        anchors = torch.tensor(config.region.anchors_grid)
        h, w = img.shape[:2]
        ref = dets(case_dir / "dets.csv")

        def run(x: torch.Tensor) -> dict:
            r = region_detections(decode_activated(x, anchors), 0, w, h, size, size, 0.005, 0.45, tree, 0.5)
            return {(int(i), int(c)): (float(s), b.numpy()) for i, c, s, b in zip(r.det_index, r.class_ids, r.scores, r.boxes_xyxy)}

        ours, from_dn = run(act), run(torch.from_numpy(out))
        common = set(ours) & set(ref)
        dp = max(abs(ours[k][0] - ref[k][0]) for k in common)
        dc = max(np.abs(ours[k][1] - ref[k][1]).max() for k in common)
        diff = len(set(ours) ^ set(ref)) // 2
        eq = "equal" if diff == 0 else f"{diff} differs"
        print(f"{case_dir.name:<36}{d_in:9.1e}{np.abs(act.numpy() - out).max():10.1e}{len(ref):7d}{eq:>12}"
              f"{'equal' if set(from_dn) == set(ref) else 'DIFFERENT':>13}{dp:9.1e}{dc:10.3f}")


if __name__ == "__main__":
    main()
