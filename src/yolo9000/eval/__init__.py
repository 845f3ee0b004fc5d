"""Scoring a detector on a dataset split: VOC07 / VOC / COCO mAP with its plots (:mod:`.validate`, on the
metric functions of :mod:`yolo9000.metrics`), and YOLO9000's scores through a label map and on unseen
classes (:mod:`.open_vocab`)."""
from yolo9000.eval.open_vocab import OpenVocabResult, evaluate_mapped, evaluate_open_vocab, predict_mapped
from yolo9000.eval.validate import ValResult, validate_sizes

__all__ = ["OpenVocabResult", "ValResult", "evaluate_mapped", "evaluate_open_vocab", "predict_mapped",
           "validate_sizes"]
