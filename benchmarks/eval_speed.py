"""COCO bbox evaluation speed: ``yolo9000.metrics.coco.evaluate_coco`` against plain pycocotools.

A seeded synthetic set (default 5,000 images, 20 ground-truth boxes and 100 detections per image, 80
COCO-like categories) is scored twice in the same run, each end to end from the in-memory
:class:`~yolo9000.metrics.structures.GroundTruth` / :class:`~yolo9000.metrics.structures.DetectionSet`
(building each engine's inputs included):

* ours: ``evaluate_coco(gt, dets)`` (engine "auto");
* plain pycocotools 2.0.11: ``ground_truth_to_coco`` / ``detections_to_coco`` -> ``COCO`` ->
  ``loadRes`` -> ``COCOeval(iouType="bbox")`` evaluate / accumulate / summarize.

The 12 summary numbers must be identical (bit for bit), as must the whole accumulate() precision and
recall arrays; the script prints the largest absolute difference and exits non-zero otherwise.

The set is built to look like a detector's output on COCO: ground-truth sizes log-uniform from 4 to
400 pixels (so small, medium and large boxes all occur), a skewed class frequency, ~1.5% crowd boxes,
an ``area`` field below the box area (as a segmentation area is), image ids not in sorted order;
detections are jittered copies of ground-truth boxes (some with the wrong class, IoU spread over
0.3..1) plus random false positives, with scores rounded to 3 decimals (so ties occur).

usage: python benchmarks/eval_speed.py [--images 5000] [--seed 0] [--json OUT] [--faster-coco-eval]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from yolo9000.metrics.coco import COCO_STAT_KEYS, evaluate_coco
from yolo9000.metrics.structures import DetectionSet, GroundTruth, detections_to_coco, ground_truth_to_coco

#: The 80 category ids of COCO (1..90 with gaps).
COCO_CATEGORY_IDS = tuple(i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83))


def make_dataset(n_images: int = 5000, gt_per_image: int = 20, dets_per_image: int = 100,
                 seed: int = 0) -> tuple[GroundTruth, DetectionSet]:
    """A seeded synthetic ground truth and detection set (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n_cls = len(COCO_CATEGORY_IDS)
    keys = rng.choice(np.arange(1, 1_000_000), size=n_images, replace=False)  # unsorted ids
    img_w = rng.integers(320, 1025, n_images).astype(np.float64)
    img_h = rng.integers(240, 769, n_images).astype(np.float64)

    freq = 1.0 / (np.arange(n_cls) + 3.0)  # skewed class frequency (a "person" class dominates)
    freq /= freq.sum()

    # ground truth
    G = n_images * gt_per_image
    g_img = np.repeat(np.arange(n_images), gt_per_image)
    g_lab = rng.choice(n_cls, size=G, p=freq)
    side = np.exp(rng.uniform(np.log(4.0), np.log(400.0), G))
    aspect = np.exp(rng.uniform(np.log(1 / 3), np.log(3.0), G))
    gw = np.minimum(side * np.sqrt(aspect), img_w[g_img] - 1)
    gh = np.minimum(side / np.sqrt(aspect), img_h[g_img] - 1)
    gx = rng.uniform(0, 1, G) * (img_w[g_img] - gw)
    gy = rng.uniform(0, 1, G) * (img_h[g_img] - gh)
    g_box = np.round(np.stack([gx, gy, gw, gh], 1), 2)
    g_box[:, 2:] = np.maximum(g_box[:, 2:], 1.0)
    crowd = rng.random(G) < 0.015
    area = np.round(g_box[:, 2] * g_box[:, 3] * rng.uniform(0.4, 0.95, G), 1)

    # detections: 3 jittered copies of each gt box on average, the rest random false positives
    n_near = int(dets_per_image * 0.6)
    src = np.sort(rng.integers(0, gt_per_image, (n_images, n_near)), axis=1)
    src = (src + np.arange(n_images)[:, None] * gt_per_image).ravel()
    sigma = np.exp(rng.uniform(np.log(0.01), np.log(0.35), src.size))
    cx = g_box[src, 0] + g_box[src, 2] / 2 + rng.normal(0, 1, src.size) * sigma * g_box[src, 2]
    cy = g_box[src, 1] + g_box[src, 3] / 2 + rng.normal(0, 1, src.size) * sigma * g_box[src, 3]
    dw = g_box[src, 2] * np.exp(rng.normal(0, 1, src.size) * sigma)
    dh = g_box[src, 3] * np.exp(rng.normal(0, 1, src.size) * sigma)
    near = np.stack([cx - dw / 2, cy - dh / 2, dw, dh], 1)
    near_lab = np.where(rng.random(src.size) < 0.9, g_lab[src], rng.integers(0, n_cls, src.size))
    near_score = np.clip(rng.beta(5, 2, src.size) - sigma, 0.001, 1.0)

    n_fp = dets_per_image - n_near
    f_img = np.repeat(np.arange(n_images), n_fp)
    fside = np.exp(rng.uniform(np.log(4.0), np.log(300.0), f_img.size))
    fw = np.minimum(fside, img_w[f_img] - 1)
    fh = np.minimum(fside * np.exp(rng.uniform(-1, 1, f_img.size)), img_h[f_img] - 1)
    fx = rng.random(f_img.size) * (img_w[f_img] - fw)
    fy = rng.random(f_img.size) * (img_h[f_img] - fh)
    fp = np.stack([fx, fy, fw, fh], 1)
    fp_lab = rng.choice(n_cls, size=f_img.size, p=freq)
    fp_score = rng.beta(1.2, 6, f_img.size)

    d_img = np.concatenate([g_img[src], f_img])
    order = np.argsort(d_img, kind="stable")  # image by image, as a detector writes them
    d_img = d_img[order]
    d_box = np.concatenate([near, fp])[order]
    d_box[:, :2] = np.maximum(d_box[:, :2], 0.0)
    d_box = np.round(d_box, 2)
    d_box[:, 2:] = np.maximum(d_box[:, 2:], 0.5)
    d_lab = np.concatenate([near_lab, fp_lab])[order]
    d_score = np.maximum(np.round(np.concatenate([near_score, fp_score])[order], 3), 0.001)

    gt = GroundTruth(tuple(int(k) for k in keys), tuple(f"{int(k):012d}.jpg" for k in keys), COCO_CATEGORY_IDS,
                     tuple(f"class{c}" for c in COCO_CATEGORY_IDS), g_img.astype(np.int64),
                     g_lab.astype(np.int64), g_box, area, np.zeros(G, bool), crowd)
    dets = DetectionSet(d_img.astype(np.int64), d_lab.astype(np.int64), d_box, d_score)
    return gt, dets


def plain_pycocotools(gt: GroundTruth, dets: DetectionSet):
    """pycocotools end to end from the in-memory sets; returns the COCOeval after summarize()."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = ground_truth_to_coco(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(detections_to_coco(dets, gt))
        ev = COCOeval(coco_gt, coco_dt, iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="write the figures to this JSON file")
    ap.add_argument("--faster-coco-eval", action="store_true",
                    help="also time evaluate_coco(engine='faster_coco_eval') (informational)")
    a = ap.parse_args(argv)

    t = time.perf_counter()
    gt, dets = make_dataset(a.images, seed=a.seed)
    t_make = time.perf_counter() - t
    sizes = np.sqrt(gt.area)
    print(f"set: {gt.num_images} images, {len(gt.label)} gt ({int(gt.iscrowd.sum())} crowd; "
          f"small {np.mean(sizes < 32):.0%} medium {np.mean((sizes >= 32) & (sizes < 96)):.0%} "
          f"large {np.mean(sizes >= 96):.0%}), {len(dets)} detections, {gt.num_classes} classes "
          f"(built in {t_make:.2f}s)")

    t = time.perf_counter()
    ours = evaluate_coco(gt, dets)
    t_ours = time.perf_counter() - t
    print(f"ours ({ours.engine}): {t_ours:.3f}s")

    t_fce = None
    if a.faster_coco_eval:
        t = time.perf_counter()
        fce = evaluate_coco(gt, dets, engine="faster_coco_eval")
        t_fce = time.perf_counter() - t
        d = max(abs(fce.stats[k] - ours.stats[k]) for k in COCO_STAT_KEYS)
        print(f"faster-coco-eval: {t_fce:.3f}s (max |diff| of the 12 numbers vs ours: {d:.3g})")

    t = time.perf_counter()
    ev = plain_pycocotools(gt, dets)
    t_ref = time.perf_counter() - t
    print(f"pycocotools: {t_ref:.3f}s")

    ref = dict(zip(COCO_STAT_KEYS, (float(v) for v in ev.stats)))
    diff = max(abs(ours.stats[k] - ref[k]) for k in COCO_STAT_KEYS)
    # the precision / recall arrays, ours in the ground truth's category order, pycocotools' in sorted-id order
    k_sorted = np.argsort(np.asarray(gt.category_ids), kind="stable")
    prec_diff = float(np.max(np.abs(ours.precision[:, :, k_sorted] - ev.eval["precision"])))
    rec_diff = float(np.max(np.abs(ours.recall[:, k_sorted] - ev.eval["recall"])))
    identical = (all(ours.stats[k] == ref[k] for k in COCO_STAT_KEYS)
                 and np.array_equal(ours.precision[:, :, k_sorted], ev.eval["precision"])
                 and np.array_equal(ours.recall[:, k_sorted], ev.eval["recall"]))
    print("  ".join(f"{k}={ours.stats[k]:.4f}" for k in COCO_STAT_KEYS))
    print(f"max |ours - pycocotools|: 12 numbers {diff:.3g}, precision array {prec_diff:.3g}, "
          f"recall array {rec_diff:.3g} -> {'identical' if identical else 'DIFFERENT'}")
    print(f"speed-up: {t_ref / t_ours:.1f}x (pycocotools {t_ref:.2f}s / ours {t_ours:.2f}s)")

    if a.json:
        out = {"images": gt.num_images, "gt": int(len(gt.label)), "detections": len(dets), "seed": a.seed,
               "engine": ours.engine, "ours_s": t_ours, "pycocotools_s": t_ref, "speedup": t_ref / t_ours,
               "faster_coco_eval_s": t_fce, "max_abs_diff_stats": diff, "max_abs_diff_precision": prec_diff,
               "identical": identical, "stats": ours.stats, "pycocotools_stats": ref,
               "python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine()}
        Path(a.json).write_text(json.dumps(out, indent=1))
    if not identical:
        print("error: results differ from pycocotools", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
