"""WordTree classifier training (the paper's WordTree1k): wnid folders, inner-node labels, hierarchical
loss, leaf top-1/top-5 and the degrade-to-parent measures."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from yolo9000.errors import Yolo9000Error
from yolo9000.train.classify import ClassifyConfig, train_classifier, tree_metrics
from yolo9000.wordtree.tree import parse_tree_lines

from tests.train.test_classify import SMALL_CLASSIFIER

# top level {warm, cool}; warm -> {red, yellow}; cool -> {blue, green}
TREE_LINES = ["warm -1", "cool -1", "red 0", "yellow 0", "blue 1", "green 1"]
TREE = parse_tree_lines(TREE_LINES, "t")
COLOURS = {"red": (230, 30, 30), "yellow": (230, 220, 30), "blue": (30, 30, 230), "green": (30, 200, 30)}


def test_tree_metrics_known_answers() -> None:
    big = 20.0
    logits = torch.tensor([
        [big, 0, big, 0, 0, 0],        # label red: right
        [big, 0, big, 0, 0, 0],        # label yellow: red is wrong, but its parent (warm) is right
        [big, 0, big, 0, 0, 0],        # label blue: wrong, wrong parent; top-down walks to red
        [0, big, 0, 0, 0, big],        # inner label cool: green, a leaf under it, is right
        [0, 2.2, 0, 0, 0.1, 0],        # label green: blue (.47) beats green; top-down stops at cool
    ])
    labels = torch.tensor([2, 3, 4, 1, 5])
    m = tree_metrics(logits, labels, TREE)
    assert m["top1"].tolist() == [1, 0, 0, 1, 0]
    assert m["top5"].tolist() == [1, 1, 1, 1, 1]                  # only 4 leaves: the top 4 hold every leaf
    assert m["parent_top1"].tolist() == [1, 1, 0, 1, 1]
    assert m["error_to_ancestor"].tolist() == [0, 0, 0, 0, 1]
    assert m["loss"][0] < 1e-6 and m["loss"][2] > 10
    torch.testing.assert_close(m["loss"][4], -torch.log_softmax(logits[4, :2], 0)[1] - torch.log_softmax(logits[4, 4:], 0)[1])


@pytest.fixture(scope="module")
def tree_folder(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("treefolder")
    (root / "c.tree").write_text("\n".join(TREE_LINES) + "\n")
    (root / "c.names").write_text("warm colour\ncool colour\nred\nyellow\nblue\ngreen\n")
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("val", 3)):
        for name, rgb in COLOURS.items():
            (root / "data" / split / name).mkdir(parents=True)
            for i in range(n):
                img = np.clip(np.array(rgb)[None, None] + rng.integers(-25, 26, (24, 24, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(img).save(root / "data" / split / name / f"{i}.png")
    cfg = root / "cls.cfg"
    cfg.write_text(SMALL_CLASSIFIER)
    return root / "data", root / "c.tree", cfg


def test_train_tree_classifier(tree_folder, tmp_path) -> None:
    from yolo9000 import YOLO

    data, tree, cfg = tree_folder
    run = train_classifier(ClassifyConfig(data=str(data), model=str(cfg), tree=str(tree), epochs=6, imgsz=32, batch=8,
                                          lr=0.05, workers=0, angle=0.0, project=str(tmp_path), name="t"))
    with open(run / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {"top1", "top5", "parent_top1", "errors_to_ancestor"} <= set(rows[0])
    assert float(rows[-1]["top1"]) >= 0.5 and float(rows[-1]["parent_top1"]) >= float(rows[-1]["top1"])
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    yolo = YOLO(run / "weights" / "last.pt")
    assert yolo.tree is not None and yolo.names == ("warm colour", "cool colour", "red", "yellow", "blue", "green")
    r = yolo.predict(str(data / "val" / "blue" / "0.png"), imgsz=32)[0]
    p = r.probs
    assert p.shape == (6,) and float(p[0] + p[1]) == pytest.approx(1.0, abs=1e-5)


def test_tree_folders_must_be_wnids(tree_folder, tmp_path) -> None:
    data, _, cfg = tree_folder
    other = tmp_path / "t.tree"
    other.write_text("warm -1\ncool -1\nred 0\nyellow 0\nblue 1\n")
    with pytest.raises(Yolo9000Error, match="'green' is not a wnid"):
        train_classifier(ClassifyConfig(data=str(data), model=str(cfg), tree=str(other), epochs=1, imgsz=32,
                                        batch=8, workers=0, project=str(tmp_path), name="bad"))
