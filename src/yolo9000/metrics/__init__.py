"""Detection metrics: VOC07 11-point AP, VOC area AP and COCO AP, exact to the reference code."""
from yolo9000.metrics.coco import COCOResult, evaluate_coco
from yolo9000.metrics.report import evaluate
from yolo9000.metrics.structures import (
    DetectionSet,
    GroundTruth,
    detections_from_coco,
    ground_truth_from_coco,
    load_detections,
    load_ground_truth,
)
from yolo9000.metrics.voc import VOCResult, evaluate_voc

__all__ = ["COCOResult", "DetectionSet", "GroundTruth", "VOCResult", "detections_from_coco", "evaluate",
           "evaluate_coco", "evaluate_voc", "ground_truth_from_coco", "load_detections", "load_ground_truth"]
