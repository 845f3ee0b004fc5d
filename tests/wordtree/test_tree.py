"""WordTree loading, group softmax and darknet's top-down walk."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from yolo9000.errors import Yolo9000Error
from yolo9000.names import bundled
from yolo9000.wordtree.tree import absolute_probs, group_softmax, load_tree, parse_tree_lines, top_down_darknet

from tests.conftest import SHARED


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


# ---- data structure, save, label maps -------------------------------------------------------------

from yolo9000.wordtree.tree import (  # noqa: E402
    WordTree, hierarchical_nll, label_targets, load_label_map, map_to_labels, predict_at_depth, save_tree, tree_lines,
)

DARKNET = SHARED / "darknet-data"


def test_9k_tree_save_round_trip_is_byte_exact(tmp_path: Path) -> None:
    tree = load_tree(DARKNET / "9k.tree", DARKNET / "9k.names")
    assert tree.names is not None and tree.names[:4] == ("thing", "matter", "object", "atmospheric phenomenon")
    save_tree(tree, tmp_path / "out.tree", tmp_path / "out.names")
    assert (tmp_path / "out.tree").read_bytes() == (DARKNET / "9k.tree").read_bytes()
    assert (tmp_path / "out.names").read_bytes() == (DARKNET / "9k.names").read_bytes()


def test_9k_tree_index_path_children_depth() -> None:
    tree = load_tree(DARKNET / "9k.tree", DARKNET / "9k.names")
    assert tree.max_depth == 16
    assert tree.top_level() == [0, 1, 2, 3]
    dog = tree.index("n02084071")
    path = tree.path_to_root(dog)
    assert path[0] == dog and int(tree.parent[path[-1]]) == -1
    assert [tree.names[i] for i in path][:2] == ["dog", "canine"]
    for i in range(0, tree.num_nodes, 97):
        p = tree.path_to_root(i)
        assert len(p) - 1 == int(tree.depth[i])
        assert all(int(tree.parent[a]) == b for a, b in zip(p, p[1:]))
        assert all(int(tree.parent[c]) == i for c in tree.children(i))
        assert len(tree.children(i)) == int((tree.parent == i).sum())
    with pytest.raises(KeyError):
        tree.index("n99999999")


def test_small_tree_path_and_children() -> None:
    tree = small_tree()
    assert tree.path_to_root(5) == [5, 2, 0] and tree.path_to_root(1) == [1]
    assert tree.children(2) == [5, 6] and tree.children(1) == [4] and tree.children(3) == []
    assert tree.children(0) == [2, 3] and tree.top_level() == [0, 1]
    assert tree.max_depth == 2 and tree.index("ho") == 6


def test_from_parents_reorders_breadth_first() -> None:
    wnids = ["te", "d", "a", "ho", "p", "c", "t"]
    parents = [1, 2, -1, 1, -1, 2, 4]
    names = ["terrier", "dog", "animal", "hound", "plant", "cat", "tree"]
    tree = WordTree.from_parents(wnids, parents, names)
    assert tree.wnids == ("a", "p", "d", "c", "t", "te", "ho")
    assert tree_lines(tree) == tree_lines(small_tree())
    assert tree.names == ("animal", "plant", "dog", "cat", "tree", "terrier", "hound")
    assert tree.num_groups == 4


def test_from_parents_shuffled_9k_keeps_every_link() -> None:
    tree = load_tree(DARKNET / "9k.tree")
    perm = torch.randperm(tree.num_nodes, generator=torch.Generator().manual_seed(0)).tolist()
    where = {old: new for new, old in enumerate(perm)}
    parents = [where[int(tree.parent[old])] if int(tree.parent[old]) >= 0 else -1 for old in perm]
    rebuilt = WordTree.from_parents([tree.wnids[old] for old in perm], parents)
    link = lambda t: {w: (t.wnids[p] if p >= 0 else None) for w, p in zip(t.wnids, t.parent.tolist())}  # noqa: E731
    assert link(rebuilt) == link(tree)
    assert (rebuilt.num_groups, int(rebuilt.leaves.sum())) == (1846, 7573)
    assert all(int(rebuilt.parent[i]) < i for i in range(rebuilt.num_nodes))  # parents precede children


def test_from_parents_rejects_bad_input() -> None:
    with pytest.raises(Yolo9000Error, match="cycle"):
        WordTree.from_parents(["a", "b", "c"], [-1, 2, 1])
    with pytest.raises(Yolo9000Error, match="parent 7"):
        WordTree.from_parents(["a", "b"], [-1, 7])
    with pytest.raises(Yolo9000Error, match="wnid a at 0 and 1"):
        WordTree.from_parents(["a", "a"], [-1, -1])
    with pytest.raises(Yolo9000Error, match="2 wnids, 1 parents"):
        WordTree.from_parents(["a", "b"], [-1])


def test_label_maps() -> None:
    coco = load_label_map(DARKNET / "coco9k.map", 9418)
    inet = load_label_map(DARKNET / "inet9k.map", 9418)
    assert len(coco) == 80 and len(inet) == 200
    assert coco[0] == 5177 and inet[:3] == (2687, 4107, 8407)
    names = load_tree(DARKNET / "9k.tree", DARKNET / "9k.names").names
    assert names is not None and names[coco[0]] == "person"


def test_label_map_and_tree_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.map"
    bad.write_text("3\n12\n")
    assert load_label_map(bad) == (3, 12)
    with pytest.raises(Yolo9000Error, match=r"bad.map:2: tree index 12 out of range \(the tree has 10 nodes\)"):
        load_label_map(bad, 10)
    bad.write_text("3\nfour\n")
    with pytest.raises(Yolo9000Error, match=r"bad.map:2: tree index 'four' is not an integer"):
        load_label_map(bad)
    bad.write_text("-1\n")
    with pytest.raises(Yolo9000Error, match=r"bad.map:1: tree index -1 out of range"):
        load_label_map(bad)
    bad.write_text("\n")
    with pytest.raises(Yolo9000Error, match="empty label map"):
        load_label_map(bad)
    with pytest.raises(Yolo9000Error, match=r"t:2: parent index 'x' is not an integer"):
        parse_tree_lines(["a -1", "b x"], "t")
    names = tmp_path / "n.names"
    names.write_text("one\ntwo\n")
    tree_file = tmp_path / "t.tree"
    tree_file.write_text("a -1\nb -1\nc 0\n")
    with pytest.raises(Yolo9000Error, match="n.names: 2 names for a tree of 3 nodes"):
        load_tree(tree_file, names)


# ---- hierarchical training helpers ----------------------------------------------------------------

def test_label_targets_mark_ancestors() -> None:
    tree = small_tree()
    got = label_targets(tree, torch.tensor([5, 4, 0]))
    assert got.tolist() == [[1, 0, 1, 0, 0, 1, 0], [0, 1, 0, 0, 1, 0, 0], [1, 0, 0, 0, 0, 0, 0]]


def test_hierarchical_nll_by_hand() -> None:
    import math
    tree = small_tree()  # groups {a, p}, {d, c}, {t}, {te, ho}
    x = torch.tensor([[2.0, 0.0, 1.0, 3.0, 5.0, 0.5, -0.5]] * 3)
    lse = lambda *v: math.log(sum(math.exp(u) for u in v))  # noqa: E731
    want = [
        -(0.5 - lse(0.5, -0.5)) - (1.0 - lse(1.0, 3.0)) - (2.0 - lse(2.0, 0.0)),  # terrier: te, d, a
        -(0.0 - lse(2.0, 0.0)),                                                  # tree: t (alone: 0), p
        -(3.0 - lse(1.0, 3.0)) - (2.0 - lse(2.0, 0.0)),                           # cat: c, a
    ]
    got = hierarchical_nll(x, torch.tensor([5, 4, 3]), tree)
    assert torch.allclose(got, torch.tensor(want), atol=1e-6)


def test_hierarchical_nll_gradient_is_target_minus_softmax_on_path() -> None:
    tree = small_tree()
    x = torch.randn(4, 7, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([5, 6, 4, 3])
    hierarchical_nll(x, labels, tree).sum().backward()
    p = group_softmax(x.detach(), tree)
    target = label_targets(tree, labels).double()
    for m, lab in enumerate(labels.tolist()):
        path_groups = {int(tree.group[i]) for i in tree.path_to_root(lab)}
        on_path = torch.tensor([int(g) in path_groups for g in tree.group.tolist()])
        want = torch.where(on_path, target[m] - p[m], torch.zeros(7, dtype=torch.float64))
        assert torch.allclose(-x.grad[m], want, atol=1e-12)
    assert float(x.grad[2, 2]) == 0.0 and float(x.grad[2, 5]) == 0.0  # tree: dog's and terrier's groups untouched


def test_predict_at_depth_and_map_to_labels() -> None:
    tree = small_tree()  # depth 0: a p; 1: d c t; 2: te ho
    cond = torch.tensor([[0.6, 0.4, 0.5, 0.5, 1.0, 0.55, 0.45],
                         [0.9, 0.1, 0.7, 0.3, 1.0, 0.2, 0.8]])
    a = absolute_probs(cond, tree)
    assert predict_at_depth(a, tree, 0).tolist() == [0, 0]
    assert predict_at_depth(a, tree, 1).tolist() == [4, 2]    # tree .4 > dog .3; dog .63
    assert predict_at_depth(a, tree, 2).tolist() == [4, 6]    # leaf tree .4 beats terrier .165; hound .504
    assert predict_at_depth(a, tree, 5).tolist() == [4, 6]
    assert map_to_labels(a, (6, 3, 0)).tolist() == a[:, [6, 3, 0]].tolist()
    nine = load_tree(DARKNET / "9k.tree")
    inet = load_label_map(DARKNET / "inet9k.map", nine.num_nodes)
    assert map_to_labels(torch.rand(2, nine.num_nodes), inet).shape == (2, 200)
