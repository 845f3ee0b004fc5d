"""PNG plots of an evaluation: precision-recall curves, confusion matrix, recall at N proposals."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from yolo9000.fileio import atomic_write


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    p = Path(path)
    with atomic_write(p) as f:
        fig.savefig(f, format="png", dpi=120, bbox_inches="tight")
    return p


def plot_pr_curves(recalls: Sequence[np.ndarray], precisions: Sequence[np.ndarray], aps: np.ndarray,
                   names: Sequence[str], path: str | Path, title: str = "") -> Path:
    """One precision-recall curve per class (legend with AP), mean AP in the title."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 6))
    finite = np.isfinite(aps)
    for r, p, ap, name in zip(recalls, precisions, aps, names):
        if len(r):
            ax.plot(r, p, lw=1, label=f"{name} {ap:.3f}" if len(names) <= 25 else None)
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="recall", ylabel="precision",
           title=title or f"precision-recall, mAP {np.mean(aps[finite]) if finite.any() else 0:.4f}")
    ax.grid(alpha=0.3)
    if len(names) <= 25 and ax.get_legend_handles_labels()[0]:  # no curve (no detection): no empty legend
        ax.legend(fontsize=7, loc="lower left")
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)


def plot_confusion_matrix(matrix: np.ndarray, names: Sequence[str], path: str | Path) -> Path:
    """Column-normalised confusion matrix (rows predicted, columns true, last = background)."""
    plt = _pyplot()
    labels = list(names) + ["background"]
    col = matrix.sum(axis=0, keepdims=True)
    norm = np.divide(matrix, col, out=np.zeros(matrix.shape, float), where=col > 0)
    n = len(labels)
    fig, ax = plt.subplots(figsize=(max(5, 0.45 * n + 2), max(4, 0.45 * n + 1.5)))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(n), labels, fontsize=7)
    ax.set(xlabel="true", ylabel="predicted", title="confusion matrix (fraction of each true class)")
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if matrix[i, j]:
                    ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=6,
                            color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)


def plot_recall_at_proposals(counts: np.ndarray, recall: np.ndarray, path: str | Path) -> Path:
    """Recall against the number of detections kept per image."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(counts, recall, lw=1.5)
    ax.set(xscale="log", xlabel="detections per image", ylabel="recall (IoU 0.5, any class)", ylim=(0, 1.01),
           title=f"recall at {int(counts[-1])} proposals: {recall[-1]:.3f}")
    ax.grid(alpha=0.3, which="both")
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)


def plot_speed_accuracy(sizes: Sequence[int], images_per_s: Sequence[float], maps: Sequence[float],
                        path: str | Path, title: str = "") -> Path:
    """The paper's Figure 4 for one model: mAP against images per second, one point per input size."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(images_per_s, maps, "o-", lw=1.5)
    for s, x, y in zip(sizes, images_per_s, maps):
        ax.annotate(str(s), (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.set(xlabel="images per second", ylabel="mAP@0.5", title=title or "one model, several input sizes")
    ax.grid(alpha=0.3)
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)
