"""Detection datasets: one YAML (VOC XML, COCO JSON or YOLO txt on disk) -> one representation.

>>> ds = load_dataset("data/raccoon.yaml", "val")           # DetectionDataset
>>> ds.records[0].boxes_xyxy, ds.records[0].labels           # pixels (N, 4), class indices (N,)
>>> report = check_dataset("data/raccoon.yaml")              # counts per class and every bad record
"""
from __future__ import annotations

from yolo9000.datasets.check import DatasetReport, SplitReport, check_dataset
from yolo9000.datasets.config import FORMATS, DatasetConfig, load_dataset_config
from yolo9000.datasets.loader import TOLERANCE, DatasetPaths, SplitScan, dataset_paths, load_dataset, scan_split
from yolo9000.datasets.records import DetectionDataset, ImageRecord, Issue

__all__ = ["FORMATS", "TOLERANCE", "DatasetConfig", "DatasetReport", "DetectionDataset", "ImageRecord", "Issue",
           "DatasetPaths", "SplitReport", "SplitScan", "check_dataset", "dataset_paths", "load_dataset", "load_dataset_config",
           "scan_split"]
