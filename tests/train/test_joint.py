"""YOLO9000 joint training: labels in one tree, the mixed batch sampler, the dataset, and a tiny run that
checkpoints, resumes and loads for prediction."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from yolo9000.datasets.shapes import make_shapes, render
from yolo9000.errors import Yolo9000Error
from yolo9000.cli.app import build_parser, cmd_train_joint
from yolo9000.train.joint import (JointBatchSampler, JointConfig, batch_split, classification_records, demo_cfg_text,
                                  detection_nodes, train_joint, with_tree)
from yolo9000.models import zoo_config
from yolo9000.wordtree.tree import load_tree, parse_tree_lines

TREE = ["polygon -1", "round -1", "triangle 0", "square 0", "pentagon 0", "circle 1", "ellipse 1"]
SIZE = 64


@pytest.fixture(scope="module")
def problem(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("joint")
    tree = root / "shapes.tree"
    tree.write_text("\n".join(TREE) + "\n")
    det = make_shapes(root / "det", n_train=8, n_val=4, size=SIZE, seed=0, classes=("triangle", "square", "circle"))
    for c in ("pentagon", "ellipse", "polygon"):
        (root / "cls" / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(render(1, "train", i, SIZE, ("pentagon" if c == "polygon" else c,)).pixels).save(
                root / "cls" / c / f"{i}.png")
    cfg = root / "small.cfg"
    cfg.write_text(demo_cfg_text(str(tree), len(TREE), SIZE, anchors=(0.5, 0.5, 1.0, 1.0, 1.6, 1.6)))
    return {"root": root, "tree": tree, "det": det, "cls": root / "cls", "cfg": cfg}


def test_detection_nodes_by_wnid_name_or_map(problem, tmp_path) -> None:
    tree = load_tree(problem["tree"])
    assert detection_nodes(("triangle", "circle"), tree) == (2, 5)
    assert detection_nodes(("tri", "circ"), tree, node_names=("a", "b", "tri", "d", "e", "circ", "g")) == (2, 5)
    m = tmp_path / "det.map"
    m.write_text("3\n6\n")
    assert detection_nodes(("x", "y"), tree, m) == (3, 6)
    with pytest.raises(Yolo9000Error, match="2 lines for the 3 classes"):
        detection_nodes(("x", "y", "z"), tree, m)
    with pytest.raises(Yolo9000Error, match="'hexagon' is neither a wnid"):
        detection_nodes(("triangle", "hexagon"), tree)


def test_classification_records_map_folders_to_nodes(problem, tmp_path) -> None:
    tree = load_tree(problem["tree"])
    records, nodes, bad = classification_records(problem["cls"], tree)
    assert bad == []
    assert len(records) == 9 and all(len(r) == 0 and r.width == SIZE for r in records)
    assert sorted(set(nodes.tolist())) == [0, 4, 6]      # ellipse, pentagon, and the inner node polygon
    bad = tmp_path / "bad"
    (bad / "hexagon").mkdir(parents=True)
    with pytest.raises(Yolo9000Error, match="'hexagon' is not a wnid"):
        classification_records(bad, tree)
    with pytest.raises(Yolo9000Error, match="no such folder"):
        classification_records(tmp_path / "missing", tree)
    (tmp_path / "empty" / "circle").mkdir(parents=True)
    with pytest.raises(Yolo9000Error, match="no images"):
        classification_records(tmp_path / "empty", tree)


def test_batch_split() -> None:
    assert batch_split(16, 0.2, 10, 10) == (3, 13)        # the paper's 1:4
    assert batch_split(16, 0.01, 10, 10) == (1, 15)       # a positive share gets at least one image
    assert batch_split(16, 0.99, 10, 10) == (15, 1)
    assert batch_split(16, 0.5, 0, 10) == (0, 16)         # no detection images
    assert batch_split(16, 0.5, 10, 0) == (16, 0)
    with pytest.raises(Yolo9000Error, match="det-ratio"):
        batch_split(16, 1.5, 10, 10)


def test_sampler_ratio_oversampling_and_determinism() -> None:
    s = JointBatchSampler(n_det=5, n_cls=40, k_det=2, k_cls=6, sizes=(320, 352, 384), every=2, seed=3)
    batches = list(s)
    assert len(s) == len(batches) == 7                     # ceil(40 / 6): one pass over the classification images
    for b in batches:
        idx = [i for i, _ in b]
        assert len(b) == 8 and sum(i < 5 for i in idx) == 2 and all(0 <= i < 45 for i in idx)
        assert len({size for _, size in b}) == 1
    cls_seen = [i for b in batches for i, _ in b if i >= 5]
    assert set(cls_seen) == set(range(5, 45))              # every classification image once (2 repeat)
    det_seen = [i for b in batches for i, _ in b if i < 5]
    assert len(det_seen) == 14 and set(det_seen) == set(range(5))  # detection oversampled, each in every cycle
    sizes = [b[0][1] for b in batches]
    assert sizes[0] == sizes[1] and sizes[2] == sizes[3]  # one size per `every` batches
    assert batches == list(JointBatchSampler(5, 40, 2, 6, (320, 352, 384), 2, seed=3))
    s.set_epoch(1)
    assert list(s) != batches


def test_with_tree_rebuilds_the_head(problem) -> None:
    c = with_tree(zoo_config("yolov2-nano"), problem["tree"], 7, tuple("abcdefg"))
    assert c.region.classes == 7 and c.region.tree == str(problem["tree"].resolve()) and c.region.softmax
    assert c.layers[-2].filters == 5 * (5 + 7)
    with pytest.raises(Yolo9000Error, match="not a detector"):
        with_tree(zoo_config("darknet19"), problem["tree"], 7)


def test_joint_data_targets(problem) -> None:
    from yolo9000.datasets import load_dataset
    from yolo9000.datasets.records import DetectionDataset
    from yolo9000.datasets.torch_data import DetectionData, collate
    from yolo9000.train.joint import JointData

    tree = load_tree(problem["tree"])
    ds = load_dataset(problem["det"], "train")
    records, nodes, bad = classification_records(problem["cls"], tree)
    assert bad == []
    cls = DetectionData(DetectionDataset(tree.wnids, "train", problem["cls"], tuple(records)), train=True, size=SIZE)
    data = JointData(DetectionData(ds, train=True, size=SIZE), (2, 3, 5), cls, nodes)
    assert len(data) == 8 + 9
    img, t = data[(0, SIZE)]
    assert img.shape == (3, SIZE, SIZE) and len(t) > 0
    raw_labels = DetectionData(ds, train=True, size=SIZE)[(0, SIZE)][1][:, 4].long()
    assert t[:, 4].tolist() == [(2, 3, 5)[k] for k in raw_labels.tolist()]
    img, t = data[(8, SIZE)]
    assert t.tolist() == [[-1.0, -1.0, 0.0, 0.0, float(nodes[0])]]
    _, targets = collate([data[(0, SIZE)], data[(9, SIZE)]])
    from yolo9000.train.loss import is_class_only

    assert is_class_only(targets).any(dim=1).tolist() == [False, True]
    with pytest.raises(IndexError):
        data[17]


def test_train_joint_checkpoint_resume_predict(problem) -> None:
    """One epoch, resume to two; the checkpoint loads in YOLO with its tree and predicts tree nodes."""
    from yolo9000 import YOLO

    root = problem["root"]
    base = dict(data=str(problem["det"]), cls_data=str(problem["cls"]), model=str(problem["cfg"]), imgsz=SIZE,
                batch=4, det_ratio=0.5, multiscale=False, workers=0, burn_in=1, project=str(root / "runs"),
                name="j", lr=0.001)
    from yolo9000.train.joint import train_joint

    run = train_joint(JointConfig(**base, epochs=1, val=False))
    last = run / "weights" / "last.pt"
    assert (run / "weights" / "shapes.tree").is_file()
    with open(run / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1"] and all(np.isfinite(float(r["total"])) for r in rows)
    ckpt = torch.load(last, map_location="cpu", weights_only=True)
    assert ckpt["epoch"] == 0 and ckpt["train_config"]["det_ratio"] == 0.5
    run = train_joint(JointConfig(**base, epochs=2, resume=True, val=True))
    with open(run / "results.csv", newline="") as f:
        assert [r["epoch"] for r in csv.DictReader(f)] == ["1", "2"]
    assert torch.load(last, map_location="cpu", weights_only=True)["seen"] == 2 * ckpt["seen"]
    assert "mAP50_voc07" in json.loads((run / "val.json").read_text())
    yolo = YOLO(last)
    assert yolo.tree is not None and yolo.tree.num_nodes == 7 and yolo.names[4] == "pentagon"
    r = yolo.predict(str(problem["cls"] / "pentagon" / "0.png"), imgsz=SIZE, conf=0.0)[0]
    assert len(r) > 0 and int(r.class_ids.max()) < 7


def test_cli_flags_map_to_config(problem, tmp_path) -> None:
    parser = build_parser()
    a = parser.parse_args(["train-joint", "--data", "d.yaml", "--cls-data", "c", "--det-ratio", "0.25",
                           "--objectness", "darknet", "--steps", "0.5", "0.7", "--no-multiscale"])
    from yolo9000.cli.args import dataclass_from_args

    cfg = dataclass_from_args(JointConfig, a)
    assert cfg.det_ratio == 0.25 and cfg.objectness == "darknet" and cfg.steps == (0.5, 0.7) and not cfg.multiscale
    with pytest.raises(SystemExit):  # a word outside the choices: argparse's usage error
        parser.parse_args(["train-joint", "--data", str(problem["det"]), "--cls-data", str(problem["cls"]),
                           "--model", str(problem["cfg"]), "--objectness", "sometimes", "--project", str(tmp_path)])
    with pytest.raises(Yolo9000Error, match="^--objectness sometimes: choose paper or darknet$"):  # the Python API
        train_joint(JointConfig(data=str(problem["det"]), cls_data=str(problem["cls"]), model=str(problem["cfg"]),
                                objectness="sometimes", project=str(tmp_path)))
    a = parser.parse_args(["train-joint", "--data", str(problem["det"]), "--cls-data", str(problem["cls"]),
                           "--model", "yolov2-nano", "--project", str(tmp_path)])
    with pytest.raises(Yolo9000Error, match="no tree="):
        cmd_train_joint(a)


def test_tree_file_parses_as_expected() -> None:
    t = parse_tree_lines(TREE, "t")
    assert t.num_groups == 3 and t.children(0) == [2, 3, 4] and t.children(1) == [5, 6]


def test_train_joint_without_data_trains_the_shapes_demo_and_resumes(tmp_path, monkeypatch) -> None:
    """No --data / --cls-data: the generated joint problem (benchmarks/joint_demo.py's), its small WordTree
    network; the checkpoint records the concrete paths, so --resume needs no data flags."""
    import functools

    import yolo9000.train.joint as joint
    from yolo9000 import YOLO
    from yolo9000.datasets.shapes import JOINT_TREE, make_joint_shapes

    monkeypatch.setattr(joint, "make_joint_shapes",
                        functools.partial(make_joint_shapes, n_det=16, n_cls=4, n_test=4))  # a smaller demo
    cfg = joint.JointConfig(epochs=1, imgsz=64, batch=8, workers=0, val=False, project=str(tmp_path), name="demo")
    run = joint.train_joint(cfg)
    state = torch.load(run / "weights" / "last.pt", weights_only=True)
    saved = state["train_config"]
    root = tmp_path / "joint-shapes-data"
    assert saved["data"] == str((root / "det" / "shapes.yaml").absolute())
    assert saved["cls_data"] == str((root / "cls").absolute()) and saved["imgsz"] == 64
    assert saved["model"] == str(root / "demo-64.cfg")
    assert sorted(p.name for p in (root / "cls").iterdir()) == sorted(line.split()[0] for line in JOINT_TREE[2:])
    assert YOLO(run / "weights" / "last.pt").tree.num_nodes == len(JOINT_TREE)
    again = joint.train_joint(joint.JointConfig(project=str(tmp_path), name="demo", resume=True, epochs=2))
    assert again == run and torch.load(run / "weights" / "last.pt", weights_only=True)["epoch"] == 1  # 0-based
    with pytest.raises(Yolo9000Error, match="--data shapes with --cls-data shapes"):
        joint.train_joint(joint.JointConfig(cls_data=str(root / "cls"), project=str(tmp_path), name="mixed"))
    assert not (tmp_path / "mixed").exists()
