"""YOLO9000's joint training: detection and classification images in every batch, one WordTree.

Detection images (a dataset YAML; its classes mapped to tree nodes by a label map such as ``coco9k.map``
or by their names) train the whole region loss with the hierarchical class term. Classification images
(a folder of wnid-named class folders, ImageNet style) carry one class-only target row
(:func:`yolo9000.train.loss.class_only_rows`): they train only the class of the prediction that already
believes most in their label, the no-object penalty elsewhere, and that prediction's objectness by the
paper's rule (up to .3) or darknet's (not at all). Every image of both kinds goes through darknet's
detection augmentation (jitter, scale, flip, HSV) at the batch's multi-scale size. A batch holds a fixed
share of detection images (``det_ratio``; the paper: 1 detection to 4 classification images, oversampling
the smaller detection set).

>>> cfg = JointConfig(data="coco.yaml", cls_data="imagenet/train", model="yolo9000", det_map="coco9k.map")
>>> run = train_joint(cfg)                       # runs/joint/weights/last.pt, results.csv
>>> YOLO(run / "weights" / "last.pt").predict("dog.jpg")
"""
from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from yolo9000.checkpoints.loading import resolve_config
from yolo9000.datasets.config import load_dataset_config
from yolo9000.datasets.loader import warn_skipped
from yolo9000.datasets.records import DetectionDataset, ImageRecord
from yolo9000.datasets.shapes import JOINT_TREE, make_joint_shapes
from yolo9000.datasets.torch_data import DetectionData, collate, multiscale_sizes
from yolo9000.errors import Yolo9000Error, file_error
from yolo9000.eval.open_vocab import evaluate_mapped
from yolo9000.fields import check_value, option
from yolo9000.fileio import atomic_write, copy_into, write_json
from yolo9000.images import CLASS_FOLDER_EXTS, scan_image
from yolo9000.models.darknet import Darknet, require_rgb
from yolo9000.models.edit import with_region, with_tree
from yolo9000.predict.predictor import Predictor
from yolo9000.train.detect import augmentation, load_training_split, resolve_sizes, steps_lr
from yolo9000.train.engine import RunContext, Task, fit
from yolo9000.train.init import initialise
from yolo9000.train.loss import CLASS_ONLY_OBJECTNESS, class_only_rows, region_loss, region_loss_problem
from yolo9000.train.options import SIZE, DetectionOptions, EngineOptions, OptimOptions, RunOptions
from yolo9000.wordtree.tree import WordTree, load_label_map, load_tree, tree_names

__all__ = ["JointBatchSampler", "JointConfig", "JointData", "batch_split", "classification_records",
           "demo_cfg_text", "detection_nodes", "train_joint"]

_JOINT_ORDER, _JOINT_SIZES = 11, 12  # random-stream tags of the sampler (apart from the item streams)


@dataclass(frozen=True)
class JointConfig(DetectionOptions, OptimOptions, EngineOptions, RunOptions):
    """Every option of ``yolo9000 train-joint``; field names are the CLI flags (``det_ratio`` = ``--det-ratio``).
    Those it shares with the other trainers are :mod:`yolo9000.train.options`' (keyword-only)."""

    TRAINER: ClassVar[str] = "train-joint"  # the command, recorded in the checkpoints (a resume checks it)
    data: str = option("shapes", "detection dataset YAML (its train split; val for the final mAP); shapes (with "
                                 "--cls-data shapes): the generated demo of benchmarks/joint_demo.py")
    cls_data: str = option("shapes", "folder of wnid-named class folders of classification images; shapes: the demo's")
    model: str | None = option(None, "zoo name, darknet .cfg or checkpoint; the head must be a WordTree or get --tree; "
                                     "none: yolo9000 (the demo: its small WordTree network)")
    tree: str | None = option(None, "WordTree file; given: the head is rebuilt for it; default: the model's tree=")
    det_map: str | None = option(None, "label map (line c: tree line of detection class c, e.g. coco9k.map); default: "
                                       "each class name is a wnid (or a name in the tree's .names)")
    weights: str | None = option(None, "darknet .weights (or a prefix, darknet19_448.conv.23) or a checkpoint")
    det_ratio: float = option(0.2, "fraction of each batch that is detection images (paper: 1:4 -> 0.2)",
                              range="(0, 1)")
    objectness: str = option("paper", "classification images' objectness rule: paper (up to .3) or darknet (none)",
                             choices=CLASS_ONLY_OBJECTNESS)
    epochs: int = option(10, "an epoch: one pass over the larger share (the other one cycles)", min=1)
    imgsz: int | None = option(None, "training size (the multi-scale centre) and validation size; none: the "
                                     "detection YAML's imgsz, else 416", check=SIZE)
    batch: int = option(16, "images per weight update", min=1)
    lr: float = option(0.001, "learning rate", min=0)
    burn_in: int = option(100, "batches of darknet's burn-in: lr * (i / burn_in)^4", min=0)
    scale: tuple[float, ...] = option((0.25, 2.0), "augmentation: random rescale range LOW HIGH (not --scales, the "
                                                   "lr steps' factors)", flags=("--rescale", "--scale"))
    val: bool = option(True, "score the detection val split (VOC07 mAP through the map) every --val-every epochs "
                             "and at the end (val.json)")
    name: str = option("joint", "the run's folder in --project (one folder name); an existing one is kept: "
                       "the run goes to <name>2, <name>3, ...")


# --------------------------------------------------------------------------------------------------
# labels in one tree
# --------------------------------------------------------------------------------------------------
def detection_nodes(names: Sequence[str], tree: WordTree, det_map: str | Path | None = None,
                    node_names: Sequence[str] | None = None, source: str = "data") -> tuple[int, ...]:
    """The tree node of each detection class: line ``c`` of ``det_map`` (a darknet label map such as
    ``coco9k.map``), else class name ``c`` as a wnid of the tree, else as one of ``node_names``.

    Raises a one-line error naming the class that maps nowhere, or a map of the wrong length.
    """
    if det_map is not None:
        nodes = load_label_map(det_map, tree.num_nodes)
        if len(nodes) != len(names):
            raise file_error(det_map, f"{len(nodes)} lines for the {len(names)} classes of {source}")
        return nodes
    by_name = {n: i for i, n in enumerate(node_names or ())}
    out = []
    for name in names:
        if name in tree.wnids:
            out.append(tree.index(name))
        elif name in by_name:
            out.append(by_name[name])
        else:
            raise file_error(source, f"class {name!r} is neither a wnid nor a name of the tree (give a label map)")
    return tuple(out)


def classification_records(folder: str | Path, tree: WordTree, skip_bad: bool = False
                           ) -> tuple[list, np.ndarray, list[Path]]:
    """The images of a folder of wnid-named class folders -> (ImageRecord list without boxes, (M,) int64
    tree node of each, the unreadable images left out). Every class folder must be named by a node's wnid
    (inner nodes allowed); every image is decoded once: an unreadable one is a one-line error, or with
    ``skip_bad`` is left out."""
    root = Path(folder)
    if not root.is_dir():
        raise file_error(root, "no such folder (expected one folder per wnid holding its images)")
    records, nodes, bad = [], [], []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        if d.name not in tree.wnids:
            raise file_error(d, f"folder name {d.name!r} is not a wnid of the tree")
        node = tree.index(d.name)
        for f in sorted(p for p in d.rglob("*") if p.suffix.lower() in CLASS_FOLDER_EXTS):
            image = scan_image(f, skip_bad)
            if image is None:
                bad.append(f)
                continue
            h, w = image.shape[:2]
            records.append(ImageRecord(f.resolve(), w, h, np.zeros((0, 4)), np.zeros(0, np.int64), np.zeros(0, bool),
                                       np.zeros(0, bool), f"{d.name}/{f.stem}"))
            nodes.append(node)
    if not records:
        raise file_error(root, f"no readable images in its class folders (--skip-bad left out all {len(bad)})" if bad
                         else "no images in its class folders")
    return records, np.asarray(nodes, np.int64), bad


# --------------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------------
class JointData(Dataset):
    """Detection images (keys 0..n_det-1) then classification images (n_det..n_det+n_cls-1).

    Keys as :class:`~yolo9000.datasets.torch_data.DetectionData`'s: an index, ``(index, size)`` or
    ``(index, size, epoch)``. Returns (image (3, S, S) float32, targets (M, 5)): detection rows
    ``[cx, cy, w, h, tree node]`` normalised to the input; a classification image one row
    ``[-1, -1, 0, 0, tree node]``.

    Args:
        det: the detection images, augmented (``DetectionData(..., train=True)``).
        det_nodes: (K,) tree node of each detection class.
        cls: the classification images as a DetectionData over box-less records (same augmentation).
        cls_nodes: (n_cls,) tree node of each classification image.
    """

    def __init__(self, det, det_nodes: Sequence[int], cls, cls_nodes: np.ndarray) -> None:
        self.det, self.cls = det, cls
        self.det_nodes = torch.as_tensor(list(det_nodes), dtype=torch.float32)
        self.cls_nodes = np.asarray(cls_nodes, np.int64)
        if len(self.cls_nodes) != len(cls):
            raise ValueError(f"{len(self.cls_nodes)} nodes for {len(cls)} classification images")

    @property
    def n_det(self) -> int:
        return len(self.det)

    @property
    def n_cls(self) -> int:
        return len(self.cls)

    def __len__(self) -> int:
        return self.n_det + self.n_cls

    def set_epoch(self, epoch: int) -> None:
        self.det.set_epoch(epoch)
        self.cls.set_epoch(epoch)

    def __getitem__(self, key: int | tuple) -> tuple[torch.Tensor, torch.Tensor]:
        k = tuple(key) if isinstance(key, (tuple, list)) else (key,)
        index = int(k[0])
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} images")
        if index < self.n_det:
            image, t = self.det[(index, *k[1:])]
            t = t.clone()
            t[:, 4] = self.det_nodes[t[:, 4].long()]
            return image, t
        j = index - self.n_det
        image, _ = self.cls[(j, *k[1:])]
        return image, class_only_rows(torch.tensor([int(self.cls_nodes[j])]))


def batch_split(batch: int, det_ratio: float, n_det: int, n_cls: int) -> tuple[int, int]:
    """(detection, classification) images per batch: ``round(batch * det_ratio)``, at least one of a kind
    whose share is positive (when the batch has room) and none of a kind without images. ``det_ratio`` must
    lie in :class:`JointConfig`'s range of it."""
    check_value(JointConfig, "det_ratio", det_ratio)
    k = round(batch * det_ratio)
    if det_ratio > 0 and k == 0:
        k = 1
    if det_ratio < 1 and k == batch and batch > 1:
        k = batch - 1
    if n_det == 0:
        k = 0
    if n_cls == 0:
        k = batch
    if k == 0 and n_cls == 0 or k == batch and n_det == 0:
        raise Yolo9000Error("no images to train on")
    return k, batch - k


class JointBatchSampler(Sampler[list[tuple[int, int]]]):
    """Batches of ``(index, size)`` keys for :class:`JointData`: ``k_det`` detection and ``k_cls``
    classification images each, one random size per ``every`` batches (darknet's multi-scale).

    An epoch is one pass over the kind that needs more batches (``ceil(n / k)``); the other kind cycles
    through fresh permutations (oversampled). Everything is a function of (seed, epoch); the sizes are
    :func:`~yolo9000.datasets.torch_data.multiscale_sizes`, as detection's.
    """

    def __init__(self, n_det: int, n_cls: int, k_det: int, k_cls: int, sizes: Sequence[int], every: int = 10,
                 seed: int = 0, epoch: int = 0) -> None:
        if k_det + k_cls < 1 or every < 1 or not sizes:
            raise ValueError("a batch needs images, every >= 1 and at least one size")
        self.n_det, self.n_cls, self.k_det, self.k_cls = n_det, n_cls, k_det, k_cls
        self.sizes, self.every, self.seed, self.epoch = tuple(sizes), every, seed, epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        need = [math.ceil(n / k) for n, k in ((self.n_det, self.k_det), (self.n_cls, self.k_cls)) if k]
        return max(need)

    def _stream(self, n: int, k: int, stream: int, batches: int) -> np.ndarray:
        """(batches, k) indices in [0, n): concatenated permutations, each from (seed, epoch, stream, cycle)."""
        total = batches * k
        cycles = -(-total // n) if n else 0
        parts = [np.random.default_rng([_JOINT_ORDER, self.seed, self.epoch, stream, c]).permutation(n)
                 for c in range(cycles)]
        flat = np.concatenate(parts)[:total] if parts else np.zeros(0, np.int64)
        return flat.reshape(batches, k)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        nb = len(self)
        det = self._stream(self.n_det, self.k_det, 0, nb)
        cls = self._stream(self.n_cls, self.k_cls, 1, nb) + self.n_det
        sizes = multiscale_sizes(self.sizes, nb, self.every, (_JOINT_SIZES, self.seed, self.epoch))
        for b, s in enumerate(sizes):
            yield [(int(i), s) for i in det[b]] + [(int(i), s) for i in cls[b]]


# --------------------------------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------------------------------
def demo_cfg_text(tree: str, num_nodes: int, size: int = 160,
                  anchors: tuple[float, ...] = (1.0, 1.0, 2.0, 2.0, 3.2, 3.2)) -> str:
    """A small darknet cfg with a WordTree region head (5 convolutions of 16..256 filters, stride 32,
    3 anchors as YOLO9000), sized for tests and CPU demonstrations."""
    convs = []
    for f in (16, 32, 64, 128, 256):
        convs.append(f"[convolutional]\nbatch_normalize=1\nfilters={f}\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
                     f"[maxpool]\nsize=2\nstride=2\n")
    a = len(anchors) // 2
    return (f"[net]\nwidth={size}\nheight={size}\nchannels=3\nsaturation=1.5\nexposure=1.5\nhue=.1\n"
            + "".join(convs)
            + "[convolutional]\nbatch_normalize=1\nfilters=256\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
            + f"[convolutional]\nfilters={a * (5 + num_nodes)}\nsize=1\nstride=1\npad=1\nactivation=linear\n"
            + f"[region]\nanchors={','.join(f'{v:g}' for v in anchors)}\nclasses={num_nodes}\nnum={a}\ncoords=4\n"
            + f"softmax=1\ntree={tree}\njitter=.2\nrescore=1\nobject_scale=5\nnoobject_scale=1\nclass_scale=1\n"
            + "coord_scale=1\nthresh=.6\nbias_match=1\nrandom=1\n")


def _resumed(ctx: RunContext) -> tuple[Darknet, WordTree, int]:
    """The network of a resumed run: ``last.pt``'s own (its tree, copied beside it when the run started,
    found there); returns (model, tree, 0: the engine restores the images seen)."""
    config = ctx.network
    if config is None or config.region is None or config.region.tree is None:
        raise file_error(ctx.last, "not a WordTree detector's checkpoint (no [region] tree=)")
    return Darknet(config), load_tree(config.region.tree), 0


def _build(cfg: JointConfig, ctx: RunContext) -> tuple[Darknet, WordTree, int]:
    """The WordTree network of ``cfg`` (tree, and its names file, copied into the run's ``weights`` so
    checkpoints resolve it), initialised from ``cfg.weights``, or on a resume ``last.pt``'s
    (:func:`_resumed`); returns (model, tree, images seen)."""
    if ctx.network is not None:
        return _resumed(ctx)
    run = ctx.run
    config = resolve_config(cfg.model)
    require_rgb(config, cfg.model)
    if config.region is None:
        raise Yolo9000Error(f"{cfg.model}: not a detector")
    src = cfg.tree or config.region.tree
    if src is None:
        raise Yolo9000Error(f"{cfg.model}: the region has no tree= (give --tree)")
    tree = load_tree(src)
    dest = copy_into(src, run / "weights")
    if Path(src).with_suffix(".names").is_file():
        copy_into(Path(src).with_suffix(".names"), run / "weights")
    names = tree_names(dest, tree)
    if cfg.tree is not None or config.region.classes != tree.num_nodes:
        config = with_tree(config, dest, tree.num_nodes, names)
    else:
        config = replace(with_region(config, tree=str(dest.resolve())), names=names)
    if (problem := region_loss_problem(config.region)) is not None:
        raise Yolo9000Error(f"--model {cfg.model}: {problem}")
    model = Darknet(config)
    return model, tree, initialise(model, cfg.weights)


# --------------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------------
DEMO_ANCHORS_NORM = (0.16, 0.16, 0.27, 0.27, 0.4, 0.4)  # the demo's 3 priors, fractions of the input side


def demo_network_cfg(tree: str | Path, size: int) -> str:
    """The shapes demo's network (:func:`demo_cfg_text`) for the 7-node tree file ``tree`` at ``size``, with
    its priors :data:`DEMO_ANCHORS_NORM` in grid cells."""
    cell = size / 32
    anchors = tuple(round(v * cell, 3) for v in DEMO_ANCHORS_NORM)
    return demo_cfg_text(str(tree), len(JOINT_TREE), size, anchors)


def _resolved(cfg: JointConfig) -> JointConfig:
    """``cfg`` with its defaults made concrete, as the checkpoints record it: the shapes demo generated
    under ``<project>/joint-shapes-data`` (its data, and its network unless ``--model`` names one), the
    model ``yolo9000`` otherwise, and ``imgsz`` from the detection YAML (else 416)."""
    if "shapes" in (cfg.data, cfg.cls_data):
        if (cfg.data, cfg.cls_data) != ("shapes", "shapes"):
            raise Yolo9000Error("the shapes demo is --data shapes with --cls-data shapes (give both, or real data "
                                "for both)")
        if cfg.model is not None:
            resolve_config(cfg.model)  # a bad --model stops the run before the demo is generated and announced
        root = Path(cfg.project) / "joint-shapes-data"
        size = cfg.imgsz or 128
        demo = make_joint_shapes(root, size=size)
        model = cfg.model
        if model is None:
            model = root / f"demo-{size}.cfg"
            text = demo_network_cfg(demo.tree, size)
            if not model.is_file() or model.read_text() != text:
                with atomic_write(model, "w") as f:
                    f.write(text)
        cfg = replace(cfg, data=str(demo.detection), cls_data=str(demo.classification), model=str(model),
                      imgsz=size)
        print(f"the joint demo: boxes in {demo.detection.parent}, classification images in {demo.classification}, "
              f"tree {demo.tree}", flush=True)
    if cfg.model is None:
        cfg = replace(cfg, model="yolo9000")
    if cfg.imgsz is None:
        cfg = replace(cfg, imgsz=load_dataset_config(cfg.data).imgsz or 416)
    return cfg


class JointTask(Task):
    """YOLO9000's joint training on the engine: :class:`JointData` batches of both kinds, the region loss
    with the hierarchical class term (class-only rows for the classification images), and VOC07 mAP@0.5 of
    the detection val split through the detection classes' tree nodes."""

    metric, score_key, best_key = "VOC07 mAP@0.5 (through the map)", "mAP50", "best_map"
    bar_keys = ("total", "coord", "obj", "noobj", "cls")

    def __init__(self, cfg: JointConfig, ctx: RunContext) -> None:
        self.cfg, self.device = cfg, ctx.device
        self.model, tree, self.seen = _build(cfg, ctx)
        self.region = self.model.config.region
        det = load_training_split(cfg.data, "train", cfg.skip_bad, "train on")
        self.det_nodes = detection_nodes(det.names, tree, cfg.det_map, self.model.config.names, cfg.data)
        records, cls_nodes, bad = classification_records(cfg.cls_data, tree, cfg.skip_bad)
        warn_skipped(cfg.cls_data, "unreadable classification image", bad)
        self.val_set = None
        self.val_keys: tuple[str, ...] = ()
        if cfg.val and "val" in load_dataset_config(cfg.data).splits:  # read now: a bad record stops the run here
            self.val_set = load_training_split(cfg.data, "val", cfg.skip_bad, "validate on (or give --no-val)")
            self.val_keys = ("mAP50",)
        cls = DetectionDataset(tuple(tree.wnids), "train", Path(cfg.cls_data), tuple(records))
        aug = {**augmentation(cfg, self.model.config), "size": cfg.imgsz}
        self.data = JointData(DetectionData(det, train=True, seed=cfg.seed, **aug), self.det_nodes,
                              DetectionData(cls, train=True, seed=cfg.seed + 1, **aug), cls_nodes)
        k_det, k_cls = batch_split(cfg.batch, cfg.det_ratio, self.data.n_det, self.data.n_cls)
        sizes = resolve_sizes(cfg, cfg.imgsz)[1]
        self.sampler = JointBatchSampler(self.data.n_det, self.data.n_cls, k_det, k_cls, sizes, cfg.scale_every,
                                         cfg.seed)
        self.collate = collate
        if ctx.info.is_main:
            print(f"joint training: {self.data.n_det} detection + {self.data.n_cls} classification images, "
                  f"{k_det}+{k_cls} per batch, {len(self.sampler)} batches per epoch, tree of {tree.num_nodes} "
                  f"nodes, objectness rule {cfg.objectness}", flush=True)

    @classmethod
    def resolve(cls, cfg: JointConfig, given: Collection[str] | None = None) -> JointConfig:
        return _resolved(cfg)

    @classmethod
    def resume_forced(cls, cfg: JointConfig) -> dict[str, Any]:
        """--val is the resume's own (the network, with its tree, comes from last.pt: :func:`_resumed`)."""
        return {"val": cfg.val}

    def lr_factor(self, total_batches: int):
        return steps_lr(self.cfg, total_batches)

    def loss(self, out: torch.Tensor, targets: torch.Tensor, seen: int):
        terms = region_loss(out, targets, self.region, seen, self.cfg.objectness, self.cfg.obj_loss,
                            self.cfg.box_loss)
        return terms["total"], {k: v.detach() for k, v in terms.items()}

    def validate(self, model: Darknet, plots: bool) -> dict[str, float]:
        if self.val_set is None:
            return {}
        predictor = Predictor.from_module(model, model.config.names, device=self.device)
        return {"mAP50": evaluate_mapped(predictor, self.val_set, self.det_nodes, imgsz=self.cfg.imgsz).mAP}

    def describe(self, row: dict[str, Any]) -> str:
        m = row.get("mAP50", float("nan"))
        return f" (cls {row['cls']:.4f})" + (f", {self.metric} {m:.4f}" if not math.isnan(m) else "")

    def finish(self, run: Path, best: Path) -> None:
        """``val.json``: the mAP of ``best.pt`` on the val split and its per-class APs (with a val split)."""
        if self.val_set is None:
            return
        result = evaluate_mapped(Predictor.load(best, device=self.device), self.val_set, self.det_nodes,
                                 imgsz=self.cfg.imgsz)
        write_json({"mAP50_voc07": result.mAP, "per_class": result.per_class()}, run / "val.json")
        print(f"val of best.pt (VOC07 mAP@0.5 through the detection classes' tree nodes): {result.mAP:.4f}",
              flush=True)


def train_joint(cfg: JointConfig, given: Collection[str] | None = None) -> Path:
    """Joint detection + classification training of a WordTree detector; returns the run folder
    (``weights/last.pt`` and ``best.pt``, the tree file beside them, ``results.csv``; ``val.json`` when
    ``cfg.val`` and the detection YAML has a val split). With ``--data shapes --cls-data shapes`` (the
    defaults) it trains the generated demo of ``benchmarks/joint_demo.py``."""
    return fit(cfg, JointTask, given)
