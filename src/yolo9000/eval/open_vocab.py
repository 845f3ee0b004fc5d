"""Open-vocabulary detection scores: mAP of a WordTree detector on a detection set whose classes are tree
nodes, split into the classes it saw with boxes and those it saw only in classification images (the
paper's ImageNet detection result: 19.7 mAP overall, 16.0 on the 156 classes without detection data).

Each box is scored for every evaluation class ``c`` as ``objectness * P(node c)`` (absolute probability,
darknet's ``get_region_detections`` with a label map such as ``inet9k.map``), then per-class NMS and
py-faster-rcnn's VOC AP (:func:`yolo9000.metrics.voc.evaluate_voc`).

>>> yolo = YOLO("runs/joint/weights/last.pt")
>>> r = evaluate_open_vocab(yolo, "imagenet-det.yaml", load_label_map("inet9k.map"), seen_nodes=coco_nodes)
>>> print(r.table())        # mAP all / seen / unseen and AP per class
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from yolo9000.datasets.loader import load_dataset
from yolo9000.datasets.records import DetectionDataset
from yolo9000.errors import Yolo9000Error
from yolo9000.eval.validate import darknet_output_boxes, ground_truth_from_dataset
from yolo9000.metrics.structures import DetectionSet
from yolo9000.metrics.voc import VOCResult, evaluate_voc
from yolo9000.ops.boxes import box_convert
from yolo9000.ops.letterbox import letterbox
from yolo9000.ops.region import decode_region, region_detections
from yolo9000.predict.predictor import HasPredictor, Predictor, as_predictor
from yolo9000.predict.sources import load_image

__all__ = ["OpenVocabResult", "evaluate_mapped", "evaluate_open_vocab", "predict_mapped", "seen_with_boxes"]


@dataclass(frozen=True)
class OpenVocabResult:
    """VOC AP per evaluation class, and which classes had boxes in training.

    Attributes:
        voc: the :class:`~yolo9000.metrics.voc.VOCResult` over the evaluation classes.
        nodes: (K,) tree node of each evaluation class.
        seen: (K,) bool, True where the class's node had detection boxes in training.
    """

    voc: VOCResult
    nodes: tuple[int, ...]
    seen: tuple[bool, ...]

    def _mean(self, mask: np.ndarray) -> float:
        has = (self.voc.npos > 0) & mask
        return float(np.mean(self.voc.ap[has])) if has.any() else float("nan")

    @property
    def mAP(self) -> float:
        """Mean AP over every class with ground truth."""
        return self._mean(np.ones(len(self.seen), bool))

    @property
    def mAP_seen(self) -> float:
        """Mean AP over the classes seen with boxes."""
        return self._mean(np.asarray(self.seen, bool))

    @property
    def mAP_unseen(self) -> float:
        """Mean AP over the classes seen only through classification data (or not at all)."""
        return self._mean(~np.asarray(self.seen, bool))

    def table(self) -> str:
        """A plain-text summary: the three means, then AP per class with its group."""
        seen = np.asarray(self.seen, bool)
        has = self.voc.npos > 0
        lines = [f"mAP@{self.voc.iou:g} ({self.voc.metric}): all {self.mAP:.4f} ({int(has.sum())} classes), "
                 f"seen with boxes {self.mAP_seen:.4f} ({int((has & seen).sum())}), "
                 f"classification only {self.mAP_unseen:.4f} ({int((has & ~seen).sum())})"]
        for name, ap, s, n in zip(self.voc.names, self.voc.ap, seen, self.voc.npos):
            lines.append(f"  {name:<24} {'seen  ' if s else 'unseen'} AP {ap:.4f}  ({int(n)} boxes)")
        return "\n".join(lines)


def seen_with_boxes(nodes: Sequence[int], box_nodes: Iterable[int]) -> tuple[bool, ...]:
    """(K,) per evaluation class: whether its tree node is among ``box_nodes`` (the nodes of the detection
    training classes, e.g. ``coco9k.map``'s 80)."""
    have = {int(n) for n in box_nodes}
    return tuple(int(n) in have for n in nodes)


@torch.inference_mode()
def predict_mapped(yolo: Predictor | HasPredictor, images: Sequence[str | Path], nodes: Sequence[int],
                   imgsz: int | None = None,
                   conf: float = 0.005, nms: float = 0.45, batch: int = 4, voc_boxes: bool = False
                   ) -> DetectionSet:
    """Detections of a WordTree detector over ``images`` for the flat label set ``nodes`` (class ``c`` =
    tree node ``nodes[c]``), as darknet writes them for scoring (``voc_boxes``: 1-based corners clipped to
    [1, size], else 0-based clipped to [0, size]). Image index ``i`` = ``images[i]``. ``imgsz`` None: the
    model's own (:attr:`Predictor.imgsz`)."""
    yolo = as_predictor(yolo)
    if yolo.tree is None or yolo.config.region is None:
        raise Yolo9000Error(f"{yolo.config.name}: open-vocabulary scoring needs a WordTree detector")
    if max(nodes, default=-1) >= yolo.tree.num_nodes or min(nodes, default=0) < 0:
        raise Yolo9000Error(f"label map: node indices must be in 0..{yolo.tree.num_nodes - 1}")
    imgsz = yolo.imgsz if imgsz is None else imgsz
    model = yolo.inference_model()
    anchors = torch.tensor(yolo.config.region.anchors_grid, dtype=torch.float32)
    img, lab, boxes, scores = [], [], [], []
    for start in range(0, len(images), batch):
        pics = [load_image(p) for p in images[start:start + batch]]
        x = torch.stack([letterbox(p, imgsz) for p in pics]).to(yolo.device)
        if yolo.fuse:
            x = x.contiguous(memory_format=torch.channels_last)
        pred = decode_region(model(x).float().cpu(), anchors, yolo.tree, yolo.config.region.location)
        for i, p in enumerate(pics):
            h, w = p.shape[:2]
            d = region_detections(pred, i, w, h, imgsz, imgsz, conf, nms, yolo.tree, label_map=nodes)
            b = darknet_output_boxes(d.boxes_xyxy.numpy(), w, h, voc_boxes)
            img.append(np.full(len(d.scores), start + i, np.int64))
            lab.append(d.class_ids.numpy().astype(np.int64))
            boxes.append(box_convert(b, "xyxy", "xywh"))
            scores.append(d.scores.numpy().astype(np.float64))
    return DetectionSet(np.concatenate(img) if img else np.zeros(0, np.int64),
                        np.concatenate(lab) if lab else np.zeros(0, np.int64),
                        np.concatenate(boxes).reshape(-1, 4) if boxes else np.zeros((0, 4)),
                        np.concatenate(scores) if scores else np.zeros(0))


def evaluate_mapped(yolo: Predictor | HasPredictor, data: str | Path | DetectionDataset, nodes: Sequence[int],
                    split: str = "val",
                    imgsz: int | None = None, conf: float = 0.005, nms: float = 0.45, iou: float = 0.5,
                    use_07_metric: bool = True, batch: int = 4) -> VOCResult:
    """VOC AP per class of dataset YAML ``data`` (``split``; or a split loaded already), its class ``c``
    being tree node ``nodes[c]``."""
    yolo = as_predictor(yolo)
    ds = data if isinstance(data, DetectionDataset) else load_dataset(data, split)
    if len(nodes) != len(ds.names):
        raise Yolo9000Error(f"{ds.root if isinstance(data, DetectionDataset) else data}: {len(ds.names)} classes, "
                            f"{len(nodes)} tree nodes given")
    voc = ds.format == "voc"
    dets = predict_mapped(yolo, [r.image for r in ds.records], nodes, imgsz, conf, nms, batch, voc)
    return evaluate_voc(ground_truth_from_dataset(ds), dets, iou, use_07_metric, plus1=True)


def evaluate_open_vocab(yolo: Predictor | HasPredictor, data: str | Path, nodes: Sequence[int],
                        seen_nodes: Iterable[int],
                        split: str = "val", imgsz: int | None = None, conf: float = 0.005, nms: float = 0.45,
                        iou: float = 0.5, use_07_metric: bool = True, batch: int = 4) -> OpenVocabResult:
    """:func:`evaluate_mapped`, with the classes split by whether their node is in ``seen_nodes``."""
    yolo = as_predictor(yolo)
    nodes = tuple(int(n) for n in nodes)
    voc = evaluate_mapped(yolo, data, nodes, split, imgsz, conf, nms, iou, use_07_metric, batch)
    return OpenVocabResult(voc, nodes, seen_with_boxes(nodes, seen_nodes))
