"""Dimension priors (the paper's Section 2, Table 1): k-means with the 1 - IoU distance over a dataset's
boxes (:mod:`.kmeans`) and its report and plots (:mod:`.report`)."""
from yolo9000.anchors.kmeans import (
    AnchorFit,
    anchors_for_dataset,
    dataset_box_shapes,
    hand_picked_anchors,
    kmeans_anchors,
    mean_best_iou,
    shape_iou,
    to_grid,
)

__all__ = ["AnchorFit", "anchors_for_dataset", "dataset_box_shapes", "hand_picked_anchors", "kmeans_anchors",
           "mean_best_iou", "shape_iou", "to_grid"]
