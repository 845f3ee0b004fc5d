"""WordTree loading, group softmax and darknet's top-down walk."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from yolo9000.errors import Yolo9000Error
from yolo9000.names import bundled
from yolo9000.wordtree import absolute_probs, group_softmax, load_tree, parse_tree_lines, top_down_darknet

from .conftest import SHARED


def test_9k_tree_structure() -> None:
    tree = load_tree(SHARED / "darknet-data" / "9k.tree")
    assert tree.num_nodes == 9418
    assert tree.num_groups == 1846
    assert int(tree.leaves.sum()) == 7573
    assert int(tree.group_size[0]) == 4 and int((tree.parent == -1).sum()) == 4
    assert tree.wnids[0] == "n00002452"
    # groups are contiguous runs and each parent points at its children's group
    for i in range(tree.num_nodes):
        g = int(tree.group[i])
        assert int(tree.group_offset[g]) <= i < int(tree.group_offset[g] + tree.group_size[g])
        if int(tree.parent[i]) >= 0:
            assert int(tree.child[tree.parent[i]]) == g


def test_bundled_tree_equals_shared() -> None:
    assert bundled("9k.tree").read_bytes() == (SHARED / "darknet-data" / "9k.tree").read_bytes()


def small_tree():
    #   0 animal (top)        1 plant (top)
    #   2 dog, 3 cat (of 0)   4 tree (of 1)   5 terrier, 6 hound (of 2)
    return parse_tree_lines(["a -1", "p -1", "d 0", "c 0", "t 1", "te 2", "ho 2"], "small")


def test_group_softmax_per_group() -> None:
    tree = small_tree()
    x = torch.randn(3, 7)
    p = group_softmax(x, tree)
    for g in range(tree.num_groups):
        idx = (tree.group == g).nonzero().squeeze(1)
        assert torch.allclose(p[:, idx].sum(1), torch.ones(3))
        assert torch.allclose(p[:, idx], torch.softmax(x[:, idx], dim=1))
    assert torch.allclose(p[:, 4], torch.ones(3))  # only child


def test_absolute_probs_multiply_down() -> None:
    tree = small_tree()
    cond = torch.tensor([[0.9, 0.1, 0.7, 0.3, 1.0, 0.6, 0.4]])
    a = absolute_probs(cond, tree)[0]
    assert torch.allclose(a, torch.tensor([0.9, 0.1, 0.63, 0.27, 0.1, 0.378, 0.252]))


def test_top_down_darknet_rules() -> None:
    tree = small_tree()
    cond = torch.tensor([
        [0.9, 0.1, 0.9, 0.1, 1.0, 0.95, 0.05],   # reaches the leaf terrier: 0.9*0.81 > .5, 0.9*.81*.7695 > .5
        [0.9, 0.1, 0.6, 0.4, 1.0, 0.9, 0.1],     # dog: p*max = 0.9*0.54 = .486 fails -> its parent, animal
        [0.95, 0.05, 0.9, 0.1, 1.0, 0.55, 0.45], # dog .95*.855 passes; terrier .812*.47 fails -> dog
        [0.55, 0.45, 0.5, 0.5, 1.0, 0.5, 0.5],   # top 0.55 passes; dog 0.55*0.275 fails -> animal
        [0.3, 0.7, 0.5, 0.5, 1.0, 0.5, 0.5],     # plant .7; tree: .7*.7 = .49 fails -> plant
        [0.4, 0.6, 0.5, 0.5, 1.0, 0.5, 0.5],     # plant .6; tree .6*.6 = .36 fails -> plant
        [0.45, 0.4, 0.5, 0.5, 1.0, 0.5, 0.5],    # top fails at the top: best top node (animal)
    ])
    got = top_down_darknet(absolute_probs(cond, tree), tree, 0.5).tolist()
    assert got == [5, 0, 2, 0, 1, 1, 0]


def test_bad_tree_files(tmp_path: Path) -> None:
    with pytest.raises(Yolo9000Error, match=r"t:2: parent 5 must be -1 or an earlier line"):
        parse_tree_lines(["a -1", "b 5"], "t")
    with pytest.raises(Yolo9000Error, match=r"t:1: expected"):
        parse_tree_lines(["a"], "t")
    with pytest.raises(Yolo9000Error, match="no such tree file"):
        load_tree(tmp_path / "none.tree")
