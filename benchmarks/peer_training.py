"""Side by side with the best peer, training: lightnet's TinyYoloV2 and our yolov2-tiny-voc from scratch on raccoon.

    .venv/bin/python benchmarks/peer_training.py [--epochs 100] [--imgsz 256] [--batch 8] [--lr 0.002] \
        [--burn-in 100] [--val-every 10] [--workers 2] [--seed 0] [--out runs/peer_training] [--skip-ours] \
        [--obj-loss bce|mse]

Both detectors train on the 160 raccoon train photos (``data/raccoon.yaml``) with one budget and one
recipe, the SGD recipe of this project before its ``scratch`` preset (the peer has no AdamW recipe to set
beside it): epochs, batch 8, SGD (momentum 0.9, weight decay 5e-4 on
convolution weights only), lr 0.002 with darknet's schedule (burn-in ``lr * (i / burn_in) ** 4``, then
x0.1 at 80% and 90% of all batches), multi-scale around ``--imgsz`` (a new size every 10 batches),
darknet's region-loss scales (from our ``yolov2-tiny-voc`` cfg, the anchor-prior term for the first
12800 images) and the same 5 k-means anchors (ours: ``--anchors auto``; lightnet gets the same numbers).
Lightnet's side is built from its public API only: ``lightnet.models.TinyYoloV2``,
``lightnet.network.loss.RegionLoss``, ``lightnet.models.BramboxDataset`` and its augmentation transforms,
``GetAnchorBoxes`` + ``NMS`` to decode; the training loop around them is the obvious one. For exactly
the same batches, lightnet's loader is driven by our ``MultiScaleBatchSampler`` (same image order, same
size per batch, through lightnet's ``Dataset.resize_getitem`` ``(size, index)`` keys).

Both are scored by OUR VOC07 mAP@0.5 (11-point) on the 40 test photos, every ``--val-every`` epochs and
at the end, with darknet's validation settings: letterboxed input at ``--imgsz`` (our ``letterbox``),
objectness threshold 0.005, NMS 0.45; lightnet's boxes (network-input pixels) are mapped back to image
pixels with our ``unletterbox_cxcywh`` and written as darknet writes VOC boxes (+1, clipped) before
scoring. As a check of that path, our final network is also scored through it (lightnet's decode and
NMS on our raw head). At the end both are also scored, the same way, on their 160 training photos (the
fit). Training images/s exclude validation. Ours trains with that recipe's objectness loss,
``bce``; ``--obj-loss mse`` trains it with darknet's (lightnet's too). Writes ``report.json`` and ``report.md`` to
``--out``; the peers run from ``benchmarks/.peers-venv`` (see ``_peers.py``).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import ensure_peers, peer_versions  # noqa: E402

if __name__ == "__main__":
    ensure_peers(("lightnet", "brambox"))

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import asdict  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from yolo9000 import YOLO  # noqa: E402
from yolo9000.anchors.kmeans import anchors_for_dataset  # noqa: E402
from yolo9000.api import resolve_config  # noqa: E402
from yolo9000.datasets import load_dataset  # noqa: E402
from yolo9000.datasets.torch_data import MultiScaleBatchSampler  # noqa: E402
from yolo9000.metrics import DetectionSet, evaluate  # noqa: E402
from yolo9000.ops.letterbox import letterbox, unletterbox_cxcywh  # noqa: E402
from yolo9000.predict.sources import load_image  # noqa: E402
from yolo9000.train.detect import TrainConfig, resolve_sizes, train  # noqa: E402
from yolo9000.train.engine import darknet_lr_lambda  # noqa: E402
from yolo9000.eval.validate import darknet_output_boxes, ground_truth_from_dataset, validate  # noqa: E402

# lightnet's RegionLoss reads a read-only pandas column through torch.from_numpy (harmless; said once per run)
warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "raccoon.yaml"
CONF, NMS_IOU = 0.005, 0.45  # darknet's validate_detector


# ----------------------------------------------------------------------------- scoring (shared)
class Scorer:
    """Our VOC07 mAP@0.5 on a split, for any network whose raw head is darknet's (B, A*(5+C), h, w),
    decoded by lightnet's ``GetAnchorBoxes`` + ``NMS`` and mapped back to image pixels by us."""

    def __init__(self, split: str, imgsz: int, batch: int = 4) -> None:
        self.ds = load_dataset(DATA, split)
        self.gt = ground_truth_from_dataset(self.ds)
        self.imgsz, self.batch = imgsz, batch
        self.images = [load_image(r.image) for r in self.ds.records]  # 40 photos: decode once

    def __call__(self, raw_head, anchors) -> float:
        import lightnet as ln

        get_boxes = ln.data.transform.GetAnchorBoxes(CONF, 32, anchors)
        nms = ln.data.transform.NMS(NMS_IOU, class_nms=True)
        s = self.imgsz
        img, lab, boxes, scores = [], [], [], []
        for start in range(0, len(self.images), self.batch):
            chunk = self.images[start:start + self.batch]
            x = torch.stack([letterbox(im, s) for im in chunk])
            with torch.inference_mode():
                out = nms(get_boxes(raw_head(x).float().clone(memory_format=torch.contiguous_format)))  # [batch_num, cx, cy, w, h, conf, class_id]
            for b, im in enumerate(chunk):
                h, w = im.shape[:2]
                d = out[out[:, 0] == b]
                c = unletterbox_cxcywh(d[:, 1:5].double() / s, w, h, s, s).numpy()
                xyxy = np.concatenate([c[:, :2] - c[:, 2:] / 2, c[:, :2] + c[:, 2:] / 2], axis=1)
                xyxy = darknet_output_boxes(xyxy, w, h, voc=True)
                img.append(np.full(len(d), start + b, np.int64))
                lab.append(d[:, 6].long().numpy())
                boxes.append(np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1))
                scores.append(d[:, 5].double().numpy())
        dets = DetectionSet(np.concatenate(img), np.concatenate(lab), np.concatenate(boxes).reshape(-1, 4),
                            np.concatenate(scores))
        return float(evaluate(self.gt, dets, "voc07", 0.5, True).mAP)


# ----------------------------------------------------------------------------- lightnet's side
def _to_rgb(img):
    return img.convert("RGB")


def _path_of(key: str) -> str:
    return key


class SizedKeys(torch.utils.data.Sampler):
    """Our MultiScaleBatchSampler's batches as lightnet ``Dataset`` keys: ``((size, size), index)``."""

    def __init__(self, inner: MultiScaleBatchSampler) -> None:
        self.inner = inner

    def __len__(self) -> int:
        return len(self.inner)

    def __iter__(self):
        for batch in self.inner:
            yield [((size, size), idx) for idx, size in batch]


def brambox_annotations(ds, names):
    """Our loaded split as a brambox annotation frame (the XML corners as our loader reads them)."""
    import brambox as bb
    import pandas as pd

    rows = []
    for r in ds.records:
        for (x1, y1, x2, y2), lab, diff in zip(np.asarray(r.boxes_xyxy).reshape(-1, 4), r.labels, r.difficult):
            rows.append({"image": str(r.image), "class_label": names[int(lab)], "x_top_left": float(x1),
                         "y_top_left": float(y1), "width": float(x2 - x1), "height": float(y2 - y1),
                         "occluded": 0.0, "truncated": 0.0, "lost": False, "difficult": bool(diff),
                         "ignore": False})
    df = pd.DataFrame(rows)
    df["image"] = pd.Categorical(df["image"], categories=[str(r.image) for r in ds.records])
    return bb.util.concat([df], ignore_index=True)


def train_lightnet(a, anchors_flat, sizes, region, net, scorer: Scorer, train_scorer: Scorer, log) -> dict:
    import lightnet as ln
    from torchvision import transforms as tvt

    tf = ln.data.transform
    d = TrainConfig()
    random.seed(a.seed)
    torch.manual_seed(a.seed)
    ds_train = load_dataset(DATA, "train")
    names = list(ds_train.names)
    pairs = [(anchors_flat[2 * i], anchors_flat[2 * i + 1]) for i in range(len(anchors_flat) // 2)]
    anchors = ln.util.Anchors.from_darknet(32, pairs)
    model = ln.models.TinyYoloV2(len(names), anchors=anchors)
    loss_fn = ln.network.loss.RegionLoss(
        len(names), model.anchors, model.stride, iou_ignore_thresh=region.thresh, coord_scale=region.coord_scale,
        object_scale=region.object_scale, noobject_scale=region.noobject_scale, class_scale=region.class_scale,
        coord_prefill=12800)
    dataset = ln.models.BramboxDataset(
        brambox_annotations(ds_train, names), input_dimension=(a.imgsz, a.imgsz), class_label_map=names,
        identify=_path_of, transform=None)
    dataset.transform = tf.Compose([
        _to_rgb,
        tf.RandomHSV(hue=net.hue, saturation=net.saturation, value=net.exposure),
        tf.RandomJitter(jitter=region.jitter),
        tf.RandomFlip(0.5),
        tf.Letterbox(dataset=dataset),
        tf.FitAnno(),
        tvt.ToTensor(),
    ])
    sampler = MultiScaleBatchSampler(len(dataset), a.batch, sizes=sizes, every=d.scale_every, seed=a.seed,
                                     shuffle=True, drop_last=len(dataset) >= a.batch)
    conv_w = [m.weight for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    ids = {id(p) for p in conv_w}
    optimizer = torch.optim.SGD([{"params": conv_w, "weight_decay": d.decay},
                                 {"params": [p for p in model.parameters() if id(p) not in ids], "weight_decay": 0.0}],
                                lr=a.peer_lr, momentum=d.momentum)
    total = len(sampler) * a.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, darknet_lr_lambda(a.burn_in, [int(f * total) for f in d.steps], list(d.scales)))
    epochs, train_s = [], 0.0
    best = (-1.0, 0)
    diverged, n_seen = None, 0
    for epoch in range(a.epochs):
        sampler.set_epoch(epoch)
        model.train()
        loader = torch.utils.data.DataLoader(dataset, batch_sampler=SizedKeys(sampler), num_workers=a.workers,
                                             collate_fn=ln.data.brambox_collate)
        t0, n, tot = time.perf_counter(), 0, 0.0
        for i, (images, annos) in enumerate(loader):
            out = model(images)
            loss = loss_fn(out, annos)
            if not torch.isfinite(loss):  # SGD cannot come back from a NaN: the run has diverged
                diverged = f"non-finite loss at epoch {epoch + 1}, batch {i + 1}"
                break
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            n += len(images)
            tot += float(loss.detach()) * len(images)
        secs = time.perf_counter() - t0
        train_s += secs
        n_seen += n
        if diverged:
            log(f"lightnet: {diverged} (lr {a.peer_lr}); training stopped, its last weights are scored")
            break
        row = {"epoch": epoch + 1, "loss": tot / max(n, 1), "images_per_s": n / secs, "lr": scheduler.get_last_lr()[0]}
        if epoch + 1 == a.epochs or (a.val_every and (epoch + 1) % a.val_every == 0):
            model.eval()
            row["mAP50"] = scorer(model, model.anchors)
            if row["mAP50"] > best[0]:
                best = (row["mAP50"], epoch + 1)
        epochs.append(row)
        log(f"lightnet epoch {epoch + 1}/{a.epochs}: loss {row['loss']:.4f}, {row['images_per_s']:.1f} images/s"
            + (f", VOC07 mAP@0.5 {row['mAP50']:.4f}" if "mAP50" in row else ""))
    params = sum(p.numel() for p in model.parameters())
    model.eval()
    finite = all(bool(torch.isfinite(t).all()) for t in model.state_dict().values() if t.is_floating_point())
    final_map = epochs[-1]["mAP50"] if not diverged else scorer(model, model.anchors) if finite else 0.0
    if diverged:
        epochs.append({"epoch": len(epochs) + 1, "diverged": diverged, "mAP50": final_map})
        best = max(best, (final_map, len(epochs)))
    train_map = train_scorer(model, model.anchors) if finite else 0.0  # NaN weights find nothing
    log(f"lightnet final: VOC07 mAP@0.5 {final_map:.4f} test, {train_map:.4f} on its training photos")
    if a.out:
        torch.save(model.state_dict(), Path(a.out) / "lightnet_tiny_yolov2_last.pt")
    return {"mAP50_voc07_test_final": final_map, "mAP50_voc07_test_best": best[0], "best_epoch": best[1],
            "mAP50_voc07_train_final": train_map, "lr": a.peer_lr, "diverged": diverged,
            "train_seconds": round(train_s, 1), "train_images_per_s": round(n_seen / train_s, 2) if train_s else None,
            "parameters": params, "anchors_grid": [list(p) for p in pairs], "epochs": epochs,
            "model": "lightnet.models.TinyYoloV2", "loss": "lightnet.network.loss.RegionLoss"}


# ----------------------------------------------------------------------------- our side
def train_ours(a, scorer: Scorer, train_scorer: Scorer, log) -> dict:
    done = (Path(a.out) / "yolo9000" / "weights" / "last.pt").is_file()  # a killed or finished run goes on
    cfg = TrainConfig(data=str(DATA), model="yolov2-tiny-voc", epochs=a.epochs, imgsz=a.imgsz, batch=a.batch,
                      lr=a.lr, burn_in=a.burn_in, optimizer="sgd", box_loss="mse", class_scale=1.0, anchors="auto",
                      device="cpu", workers=a.workers,
                      val_every=a.val_every, project=str(a.out), name="yolo9000", seed=a.seed, obj_loss=a.obj_loss,
                      resume=done, exist_ok=done)
    run = train(cfg)
    with open(run / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    n_train = len(load_dataset(DATA, "train").records)
    n_per_epoch = (n_train // a.batch) * a.batch if n_train >= a.batch else n_train
    secs = sum(n_per_epoch / float(r["images_per_s"]) for r in rows)
    epochs = [{"epoch": int(r["epoch"]), "loss": float(r["total"]), "images_per_s": float(r["images_per_s"]),
               **({"mAP50": float(r["mAP50"])} if r.get("mAP50") else {})} for r in rows]
    last = YOLO(run / "weights" / "last.pt", device="cpu")
    final = validate(last, cfg.data, split="val", metric="voc07", imgsz=a.imgsz).mAP
    anchors_grid = [list(p) for p in last.config.region.anchors_grid]
    import lightnet as ln

    net = last.inference_model()
    peer_anchors = ln.util.Anchors.from_darknet(32, [tuple(p) for p in anchors_grid])
    head = lambda x: net(x.contiguous(memory_format=torch.channels_last))  # noqa: E731
    through_peer_path = scorer(head, peer_anchors)
    train_map = train_scorer(head, peer_anchors)  # the same path as lightnet's training-split score
    log(f"yolo9000 final: VOC07 mAP@0.5 {final:.4f} test, {train_map:.4f} on its training photos")
    scored = [e for e in epochs if "mAP50" in e]
    best = max(scored, key=lambda e: e["mAP50"]) if scored else {"mAP50": float("nan"), "epoch": 0}
    return {"mAP50_voc07_test_final": final, "mAP50_voc07_test_best": best["mAP50"], "best_epoch": best["epoch"],
            "mAP50_voc07_test_final_via_lightnet_decode": through_peer_path,
            "mAP50_voc07_train_final": train_map,
            "train_seconds": round(secs, 1), "train_images_per_s": round(n_per_epoch * len(rows) / secs, 2),
            "parameters": sum(p.numel() for p in last.model.parameters()), "anchors_grid": anchors_grid,
            "epochs": epochs, "run": str(run), "settings": asdict(cfg),
            "model": "yolo9000 yolov2-tiny-voc",
            "loss": f"yolo9000.train.loss.region_loss (darknet's, objectness {cfg.obj_loss})"}


# ----------------------------------------------------------------------------- report
def differences(region, net, sizes, obj_loss: str, lr: float, peer_lr: float) -> list[str]:
    d = TrainConfig()
    lo, hi = d.scale
    scale = "scale 1 as darknet HEAD" if (lo, hi) == (1.0, 1.0) else f"random rescale {lo:g}-{hi:g}"
    return [
        "architecture: both tiny YOLOv2 (16-32-64-128-256-512 convs with max-pools, a stride-1 max-pool, "
        "two 3x3 1024 convs, 1x1 to 5x(5+1)); parameter counts are in the table",
        "initialisation: lightnet kaiming-normal (leaky 0.1) on convs, zero biases; ours normal(0, sqrt(2/fan_in))",
        f"augmentation, ours: darknet's jitter {region.jitter} (random aspect and placement on a 0.5 canvas, "
        f"{scale}), darknet's HSV distortion (hue {net.hue}, saturation {net.saturation}, exposure "
        f"{net.exposure}), flip {'1/2' if d.flip else 'off'}; lightnet: RandomHSV(hue {net.hue}, saturation {net.saturation}, value "
        f"{net.exposure}) in PIL's 8-bit HSV, RandomJitter({region.jitter}) (crop or pad each side by up to "
        f"{region.jitter} of the side), RandomFlip(0.5), Letterbox (centred, PIL bilinear), FitAnno (clip, drop "
        f"boxes < 0.1% inside)",
        f"multi-scale: identical batches (image order and size per batch from our sampler, sizes {sizes})",
        "loss: same scales (coord %g, object %g, noobject %g, class %g, ignore IoU > %g, rescore, anchor prior "
        "for 12800 images: lightnet's coord_prefill); lightnet's RegionLoss is its own implementation (e.g. "
        "IoU of predictions vs all truths for the ignore mask as darknet; class term is cross-entropy, zero "
        "with one class), ours is darknet's region loss" % (region.coord_scale, region.object_scale,
                                                        region.noobject_scale, region.class_scale, region.thresh),
        f"objectness: lightnet's is darknet's squared error of the sigmoid; ours is --obj-loss {obj_loss} (%s)"
        % {"bce": "the cross-entropy of the logit, darknet's delta without the sigmoid's derivative",
           "mixed": "the cross-entropy where responsible, darknet's squared error elsewhere"}.get(
            obj_loss, "darknet's squared error"),
        "loss figures printed per epoch are each library's own sum (not comparable with each other)",
        "optimiser and schedule: identical (SGD 0.9, decay 5e-4 on conv weights only, darknet burn-in + steps)"
        + ("" if peer_lr == lr else f", except the learning rate: lightnet {peer_lr:g}, ours {lr:g}"),
        "BN: both momentum 0.01 (darknet's .99 running average); lightnet's default eps (1e-5) as ours",
        "scoring: identical inputs (our letterbox) and metric; lightnet decodes with GetAnchorBoxes + NMS "
        "(torchvision batched NMS), ours with darknet's decode and NMS",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--imgsz", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--peer-lr", type=float, default=None, help="lightnet's learning rate (default: --lr)")
    ap.add_argument("--burn-in", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--val-every", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "runs" / "peer_training"))
    ap.add_argument("--skip-ours", action="store_true", help="train lightnet only")
    ap.add_argument("--obj-loss", default="bce", choices=("bce", "mse"),
                    help="our objectness loss (the SGD recipe's: bce; mse: darknet's, as lightnet's)")
    a = ap.parse_args()
    a.peer_lr = a.lr if a.peer_lr is None else a.peer_lr
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    a.out = out
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    lines: list[str] = []

    def log(msg: str) -> None:
        print(msg, flush=True)
        lines.append(msg)

    base = resolve_config("yolov2-tiny-voc")
    region, net = base.region, base.net
    imgsz, sizes = resolve_sizes(TrainConfig(imgsz=a.imgsz), None)
    anchors_flat = tuple(round(float(v), 4) for v in anchors_for_dataset(str(DATA), k=region.num, imgsz=imgsz,
                                                                           seed=a.seed))
    log(f"peer training on raccoon: {a.epochs} epochs, imgsz {imgsz} (multi-scale {sizes}), batch {a.batch}, "
        f"lr {a.lr}, burn-in {a.burn_in}; k-means anchors (grid cells): {', '.join(f'{v:g}' for v in anchors_flat)}")
    log(f"uptime load average at start: {os.getloadavg()}")
    scorer = Scorer("val", imgsz)
    train_scorer = Scorer("train", imgsz)
    results = {}
    if not a.skip_ours:
        t = time.perf_counter()
        results["yolo9000"] = train_ours(a, scorer, train_scorer, log)
        log(f"yolo9000 done in {time.perf_counter() - t:.0f} s")
        got = tuple(v for p in results["yolo9000"]["anchors_grid"] for v in p)
        if not np.allclose(got, anchors_flat, atol=1e-3):
            log(f"WARNING: our run's anchors {got} differ from the ones given to lightnet {anchors_flat}")
    t = time.perf_counter()
    results["lightnet"] = train_lightnet(a, anchors_flat, sizes, region, net, scorer, train_scorer, log)
    log(f"lightnet done in {time.perf_counter() - t:.0f} s")

    table = ["| detector | params | epochs | VOC07 mAP@0.5 test (final) | best (epoch) | training photos (final) "
             "| train images/s | train s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in results.items():
        label = r["model"] + (f" (lr {r['lr']:g})" if r.get("lr") is not None and r["lr"] != a.lr else "")
        label += f" ({r['diverged']})" if r.get("diverged") else ""
        table.append(f"| {label} | {r['parameters']:,} | {a.epochs} | {r['mAP50_voc07_test_final']:.4f} | "
                     f"{r['mAP50_voc07_test_best']:.4f} ({r['best_epoch']}) | {r['mAP50_voc07_train_final']:.4f} | "
                     f"{r['train_images_per_s']:.2f} | {r['train_seconds']:.0f} |")
    diffs = differences(region, net, sizes, a.obj_loss, a.lr, a.peer_lr)
    md = "\n".join([f"## Peer training: raccoon, {a.epochs} epochs, imgsz {imgsz}, batch {a.batch}", "", *table, ""]
                   + ([f"Our final network scored through lightnet's decode + NMS (the path lightnet is scored "
                       f"by): {results['yolo9000']['mAP50_voc07_test_final_via_lightnet_decode']:.4f}", ""]
                      if "yolo9000" in results else [])
                   + ["What differs:", *[f"- {d}" for d in diffs]])
    print("\n" + md)
    report = {"results": results, "differences": diffs, "anchors_grid_flat": list(anchors_flat),
              "budget": {"epochs": a.epochs, "imgsz": imgsz, "sizes": sizes, "batch": a.batch, "lr": a.lr,
                         "burn_in": a.burn_in, "steps": list(TrainConfig().steps), "scales": list(TrainConfig().scales),
                         "momentum": TrainConfig().momentum, "decay": TrainConfig().decay, "seed": a.seed},
              "scoring": {"metric": "voc07 11-point, IoU 0.5, +1 areas", "split": "test (data/raccoon.yaml val)",
                          "conf": CONF, "nms": NMS_IOU, "input": f"letterbox {imgsz}"},
              "machine": {"cpus": os.cpu_count(), "threads": torch.get_num_threads(), "python": platform.python_version(),
                          "load_average_end": os.getloadavg()},
              "versions": peer_versions(), "log": lines, "table_markdown": "\n".join(table)}
    (out / "report.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    (out / "report.md").write_text(md + "\n")
    print(f"\nwrote {out / 'report.json'} and {out / 'report.md'}")


if __name__ == "__main__":
    main()
