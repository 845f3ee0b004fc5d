"""YOLO9000's joint training on a small generated problem, on the CPU (a few minutes; not part of CI).

WordTree (hand-made): top level {polygon, round}; polygon -> {triangle, square, pentagon};
round -> {circle, ellipse}. Detection data (boxes): triangle, square, circle only. Classification data
(one label per image, no boxes, one object per image): all five shapes -- pentagon and ellipse are never
seen with a box.
After joint training, a test set with boxes of all five shapes is scored (VOC07 AP@0.5, each class
scored objectness * P(node)), split into classes seen with boxes and classification-only classes, with
the recall at score >= 0.25 (the detection rate).

    python benchmarks/joint_demo.py --out /tmp/joint-demo [--epochs 12] [--objectness paper|darknet]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from yolo9000 import YOLO
from yolo9000.datasets.shapes import JOINT_ALL, JOINT_DETECTION, JOINT_TREE, make_joint_shapes
from yolo9000.train.joint import JointConfig, demo_network_cfg, train_joint
from yolo9000.train.loss import OBJ_LOSSES
from yolo9000.eval.open_vocab import OpenVocabResult, evaluate_open_vocab

TREE, DETECTION, ALL = JOINT_TREE, JOINT_DETECTION, JOINT_ALL
NODE = {line.split()[0]: i for i, line in enumerate(TREE)}


def recall_at(result: OpenVocabResult, score: float) -> np.ndarray:
    """(K,) recall of each class counting detections scored >= ``score`` (0 with none)."""
    out = np.zeros(len(result.nodes))
    for k, (rec, sc) in enumerate(zip(result.voc.recall, result.voc.scores)):
        n = int(np.sum(sc >= score))
        out[k] = float(rec[n - 1]) if n > 0 else 0.0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="/tmp/joint-demo")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--det-images", type=int, default=300)
    ap.add_argument("--cls-images", type=int, default=100, help="per class")
    ap.add_argument("--test-images", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--det-ratio", type=float, default=0.5)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--objectness", default="paper", choices=("paper", "darknet"))
    ap.add_argument("--obj-loss", default="mse", choices=OBJ_LOSSES,
                    help="objectness loss of the boxes (mse: darknet's, the default)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cls-classes", default=",".join(ALL),
                    help="shapes with classification images (baseline: triangle,square,circle)")
    a = ap.parse_args()
    root = Path(a.out)
    cls_classes = tuple(c for c in ALL if c in a.cls_classes.split(","))
    demo = make_joint_shapes(root, a.size, a.det_images, a.cls_images, a.test_images, cls_classes)
    tree, det, cls, test = demo.tree, demo.detection, demo.classification, demo.test
    tag = a.objectness + "-" + a.obj_loss + ("" if cls_classes == ALL else "-cls-" + "-".join(cls_classes))
    cfg_path = root / "small.cfg"
    cfg_path.write_text(demo_network_cfg(tree, a.size))
    t0 = time.perf_counter()
    run = train_joint(JointConfig(
        data=str(det), cls_data=str(cls), model=str(cfg_path), det_ratio=a.det_ratio, objectness=a.objectness,
        obj_loss=a.obj_loss, epochs=a.epochs, imgsz=a.size, batch=a.batch, lr=a.lr, burn_in=50, multiscale=False,
        workers=a.workers, seed=a.seed, val=False, tensorboard=False, project=str(root / "runs"),
        name=f"joint-{tag}"))
    seconds = time.perf_counter() - t0
    yolo = YOLO(run / "weights" / "last.pt")
    nodes = [NODE[c] for c in ALL]
    res = evaluate_open_vocab(yolo, test, nodes, seen_nodes=[NODE[c] for c in DETECTION], imgsz=a.size)
    rate = recall_at(res, 0.25)
    print(res.table())
    seen = np.asarray(res.seen)
    summary = {"train_seconds": round(seconds, 1), "objectness": a.objectness, "obj_loss": a.obj_loss,
               "epochs": a.epochs,
               "classification_classes": list(cls_classes),
               "mAP_all": res.mAP, "mAP_seen": res.mAP_seen, "mAP_unseen": res.mAP_unseen,
               "recall_at_0.25_seen": float(rate[seen].mean()), "recall_at_0.25_unseen": float(rate[~seen].mean()),
               "per_class": {c: {"AP": float(ap_), "recall_at_0.25": float(r), "seen_with_boxes": bool(s)}
                             for c, ap_, r, s in zip(ALL, res.voc.ap, rate, seen)}}
    print(json.dumps(summary, indent=1))
    (root / f"summary-{tag}.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
