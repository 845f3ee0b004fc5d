"""WordTree: darknet's ``.tree`` format, per-group softmax, absolute probabilities, top-down decoding,
and the tensor helpers of hierarchical classification (targets, loss, prediction at a depth).

A tree file has one line per node, ``<wnid> <parent line index>`` (-1 at the top level). Darknet starts a
new sibling group (one softmax) wherever the parent changes from one line to the next, so siblings sit
on consecutive lines and every parent precedes its children. A names file (``9k.names``) has one name per
tree line; a label map (``coco9k.map``, ``inet9k.map``) has, per class of a flat label set, its tree line.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import torch

from yolo9000.errors import Yolo9000Error, file_error, read_text_file
from yolo9000.fileio import atomic_write


@dataclass(frozen=True, eq=False)
class WordTree:
    """A WordTree as darknet reads it.

    ``parent[i]``: parent node of ``i`` (-1 at the top); ``group[i]``: sibling group of ``i``;
    ``group_offset[g]``, ``group_size[g]``: contiguous node range of group ``g``; ``child[i]``: the group
    of ``i``'s children, -1 for a leaf. Group 0 is the top level. ``names``: one readable name per node
    (``9k.names``), or None. Build one with :func:`parse_tree_lines` / :func:`load_tree` (file order kept)
    or :meth:`WordTree.from_parents` (any order; reordered).
    """

    wnids: tuple[str, ...]
    parent: torch.Tensor        # (N,) int64
    group: torch.Tensor         # (N,) int64
    group_offset: torch.Tensor  # (G,) int64
    group_size: torch.Tensor    # (G,) int64
    child: torch.Tensor         # (N,) int64
    names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.names is not None and len(self.names) != len(self.wnids):
            raise Yolo9000Error(f"{len(self.names)} names for a tree of {len(self.wnids)} nodes")

    @classmethod
    def from_parents(cls, wnids: Sequence[str], parents: Sequence[int],
                     names: Sequence[str] | None = None) -> WordTree:
        """Build a tree from nodes in any order: ``parents[i]`` is the index (into ``wnids``) of node
        ``i``'s parent, -1 at the top level.

        Nodes are reordered breadth-first so that siblings are contiguous and every parent precedes its
        children, as darknet's format needs: the top level first, then the children of each node in the
        new order; siblings keep their relative input order (deterministic). Raises on a duplicate wnid,
        a parent index out of range, or a cycle.
        """
        n = len(wnids)
        if len(parents) != n or (names is not None and len(names) != n):
            raise Yolo9000Error(f"from_parents: {n} wnids, {len(parents)} parents"
                                + ("" if names is None else f", {len(names)} names") + " (must be equal)")
        if n == 0:
            raise Yolo9000Error("from_parents: a tree needs at least one node")
        seen: dict[str, int] = {}
        for i, w in enumerate(wnids):
            if w in seen:
                raise Yolo9000Error(f"from_parents: wnid {w} at {seen[w]} and {i}")
            seen[w] = i
        kids: list[list[int]] = [[] for _ in range(n + 1)]  # kids[n]: the top level
        for i, p in enumerate(parents):
            if not -1 <= p < n or p == i:
                raise Yolo9000Error(f"from_parents: node {i} ({wnids[i]}) has parent {p} (need -1 or another node)")
            kids[p if p >= 0 else n].append(i)
        order = list(kids[n])
        for k in range(n):
            if k >= len(order):
                break
            order.extend(kids[order[k]])
        if len(order) != n:
            stuck = sorted(set(range(n)) - set(order))[0]
            raise Yolo9000Error(f"from_parents: node {stuck} ({wnids[stuck]}) is on a cycle, never reaching the top")
        new = {old: k for k, old in enumerate(order)}
        lines = [f"{wnids[old]} {new[parents[old]] if parents[old] >= 0 else -1}" for old in order]
        tree = parse_tree_lines(lines, "from_parents")
        return tree if names is None else tree.with_names(tuple(names[old] for old in order))

    def with_names(self, names: Sequence[str]) -> WordTree:
        """This tree with one name per node (same order as ``wnids``)."""
        return replace(self, names=tuple(names))

    @property
    def num_nodes(self) -> int:
        return len(self.wnids)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.wnids)}

    def index(self, wnid: str) -> int:
        """Node index of ``wnid``; KeyError if it is not in the tree."""
        return self._index[wnid]

    def path_to_root(self, i: int) -> list[int]:
        """``[i, parent(i), ..., top-level node]``: node ``i`` and its ancestors, nearest first."""
        out = [i]
        parent = self._parent_list
        while parent[out[-1]] >= 0:
            out.append(parent[out[-1]])
        return out

    def children(self, i: int) -> list[int]:
        """Node indices of ``i``'s children (its group's contiguous range), [] for a leaf."""
        g = int(self.child[i])
        if g < 0:
            return []
        start = int(self.group_offset[g])
        return list(range(start, start + int(self.group_size[g])))

    def top_level(self) -> list[int]:
        """Node indices of the top level (parent -1), in order."""
        return [i for i, p in enumerate(self._parent_list) if p < 0]

    @cached_property
    def _parent_list(self) -> list[int]:
        return self.parent.tolist()

    @property
    def max_depth(self) -> int:
        """Depth of the deepest node (0: the tree is a single level)."""
        return int(self.depth.max())

    @property
    def num_groups(self) -> int:
        return int(self.group_size.numel())

    @cached_property
    def leaves(self) -> torch.Tensor:
        """(N,) bool: nodes with no children."""
        return self.child < 0

    @cached_property
    def depth(self) -> torch.Tensor:
        """(N,) int64: 0 at the top level."""
        d = torch.zeros(self.num_nodes, dtype=torch.int64)
        for i, p in enumerate(self.parent.tolist()):
            if p >= 0:
                d[i] = d[p] + 1
        return d

    @cached_property
    def group_members(self) -> torch.Tensor:
        """(G, max group size) int64 node indices of each group, padded with -1."""
        width = int(self.group_size.max())
        cols = torch.arange(width)
        members = self.group_offset[:, None] + cols[None, :]
        return torch.where(cols[None, :] < self.group_size[:, None], members, torch.full_like(members, -1))


def parse_tree_lines(lines: list[str], source: str | Path) -> WordTree:
    """Build a :class:`WordTree` from darknet tree lines, grouping exactly as darknet's ``read_tree``."""
    wnids: list[str] = []
    parents: list[int] = []
    for lineno, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise file_error(f"{source}:{lineno}", f"expected '<wnid> <parent index>', got {line.strip()!r}")
        try:
            parent = int(parts[1])
        except ValueError:
            raise file_error(f"{source}:{lineno}", f"parent index {parts[1]!r} is not an integer") from None
        if not -1 <= parent < len(wnids):
            raise file_error(f"{source}:{lineno}", f"parent {parent} must be -1 or an earlier line")
        wnids.append(parts[0])
        parents.append(parent)
    if not wnids:
        raise file_error(source, "empty tree file")
    n = len(wnids)
    group = [0] * n
    offsets, sizes = [0], [0]
    child = [-1] * n
    for i, p in enumerate(parents):
        if i > 0 and p != parents[i - 1]:
            offsets.append(i)
            sizes.append(0)
        g = len(offsets) - 1
        sizes[g] += 1
        group[i] = g
        if p >= 0:
            child[p] = g
    t = lambda v: torch.tensor(v, dtype=torch.int64)  # noqa: E731
    return WordTree(tuple(wnids), t(parents), t(group), t(offsets), t(sizes), t(child))


def load_tree(path: str | Path, names: str | Path | None = None) -> WordTree:
    """Read a darknet ``.tree`` file (e.g. ``9k.tree``), and optionally its names file (``9k.names``)."""
    p, text = read_text_file(path, "tree file")
    tree = parse_tree_lines(text.splitlines(), p)
    return tree if names is None else tree.with_names(read_tree_names(names, tree.num_nodes))


def read_tree_names(path: str | Path, num_nodes: int) -> tuple[str, ...]:
    """One name per tree line; raises a one-line error when the count is not ``num_nodes``."""
    p, text = read_text_file(path, "names file")
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) != num_nodes:
        raise file_error(p, f"{len(lines)} names for a tree of {num_nodes} nodes")
    return tuple(line.strip() for line in lines)


def tree_names(tree_path: str | Path, tree: WordTree) -> tuple[str, ...]:
    """Readable node names: the names file beside the tree (``9k.tree`` -> ``9k.names``) when it has one
    name per node, else the wnids."""
    names = Path(tree_path).with_suffix(".names")
    if names.is_file():
        try:
            return read_tree_names(names, tree.num_nodes)
        except Yolo9000Error:
            pass
    return tree.wnids


def tree_lines(tree: WordTree) -> list[str]:
    """Darknet's tree lines ``'<wnid> <parent index>'``, one per node, in node order."""
    return [f"{w} {p}" for w, p in zip(tree.wnids, tree.parent.tolist())]


def save_tree(tree: WordTree, path: str | Path, names: str | Path | None = None) -> None:
    """Write ``tree`` in darknet's format (atomically; 9k.tree round-trips byte for byte), and its
    names, one per line, to ``names`` when given (the tree must carry names then)."""
    with atomic_write(path) as f:
        f.write("".join(line + "\n" for line in tree_lines(tree)).encode("utf-8"))
    if names is not None:
        if tree.names is None:
            raise Yolo9000Error(f"{names}: the tree has no names to write")
        with atomic_write(names) as f:
            f.write("".join(name + "\n" for name in tree.names).encode("utf-8"))


def load_label_map(path: str | Path, num_nodes: int | None = None) -> tuple[int, ...]:
    """Read a darknet label map (``coco9k.map``, ``inet9k.map``): line ``c`` holds the tree node index
    of class ``c`` of a flat label set. With ``num_nodes`` every index must be < ``num_nodes``.

    Raises a one-line error naming ``file:line`` for a non-integer or out-of-range index, or an empty file.
    """
    p, text = read_text_file(path, "label map")
    out: list[int] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        field = line.strip()
        if not field:
            continue
        try:
            node = int(field)
        except ValueError:
            raise file_error(f"{p}:{lineno}", f"tree index {field!r} is not an integer") from None
        if node < 0 or (num_nodes is not None and node >= num_nodes):
            bound = "" if num_nodes is None else f" (the tree has {num_nodes} nodes)"
            raise file_error(f"{p}:{lineno}", f"tree index {node} out of range{bound}")
        out.append(node)
    if not out:
        raise file_error(p, "empty label map")
    return tuple(out)


def group_softmax(logits: torch.Tensor, tree: WordTree, dim: int = -1) -> torch.Tensor:
    """Softmax within each sibling group along ``dim`` (size N): conditional P(node | parent)."""
    x = logits.movedim(dim, -1)
    idx = tree.group.to(x.device).expand_as(x)
    gmax = torch.full((*x.shape[:-1], tree.num_groups), float("-inf"), dtype=x.dtype, device=x.device)
    gmax = gmax.scatter_reduce(-1, idx, x, reduce="amax", include_self=True)
    e = torch.exp(x - gmax.gather(-1, idx))
    gsum = torch.zeros_like(gmax).scatter_add(-1, idx, e)
    return (e / gsum.gather(-1, idx)).movedim(-1, dim)


def absolute_probs(cond: torch.Tensor, tree: WordTree) -> torch.Tensor:
    """(..., N) conditional probabilities -> absolute P(node), multiplied down from the top level."""
    out = cond.clone()
    parent = tree.parent.to(cond.device)
    depth = tree.depth.to(cond.device)
    for d in range(1, int(depth.max()) + 1):
        nodes = (depth == d).nonzero().squeeze(1)
        out[..., nodes] = out[..., nodes] * out[..., parent[nodes]]
    return out


def top_down_darknet(absolute: torch.Tensor, tree: WordTree, thresh: float = 0.5) -> torch.Tensor:
    """Darknet's ``hierarchy_top_prediction`` for (M, N) absolute probabilities -> (M,) node indices.

    From the top group take the most probable node; while ``p * max > thresh`` (``p`` the product of the
    values taken so far, as darknet computes it) descend into its children; stop at a leaf (return it),
    or, when the test fails, return the group's parent (the top group's best node at the top).
    """
    m = absolute.shape[0]
    device = absolute.device
    members = tree.group_members.to(device)
    child = tree.child.to(device)
    parent = tree.parent.to(device)
    group = torch.zeros(m, dtype=torch.int64, device=device)
    p = torch.ones(m, dtype=absolute.dtype, device=device)
    result = torch.full((m,), -1, dtype=torch.int64, device=device)
    active = torch.ones(m, dtype=torch.bool, device=device)
    rows = torch.arange(m, device=device)
    while bool(active.any()):
        mem = members[group]                                          # (M, W)
        vals = torch.where(mem >= 0, absolute[rows[:, None], mem.clamp(min=0)], torch.zeros((), dtype=absolute.dtype, device=device))
        best, col = vals.max(dim=1)
        best_i = mem[rows, col]
        descend = p * best > thresh
        at_leaf = descend & (child[best_i] < 0)
        stop_top = ~descend & (group == 0)
        stop_up = ~descend & (group != 0)
        up = parent[tree.group_offset.to(device)[group]]
        done_now = active & (at_leaf | stop_top | stop_up)
        result = torch.where(active & (at_leaf | stop_top), best_i, result)
        result = torch.where(active & stop_up, up, result)
        active = active & ~done_now
        p = torch.where(active, p * best, p)
        group = torch.where(active, child[best_i].clamp(min=0), group)
    return result


def group_log_softmax(logits: torch.Tensor, tree: WordTree) -> torch.Tensor:
    """(..., N) logits -> (..., N) log P(node | parent): log-softmax within each sibling group."""
    idx = tree.group.to(logits.device).expand_as(logits)
    gmax = torch.full((*logits.shape[:-1], tree.num_groups), float("-inf"), dtype=logits.dtype, device=logits.device)
    gmax = gmax.scatter_reduce(-1, idx, logits.detach(), reduce="amax", include_self=True)
    shifted = logits - gmax.gather(-1, idx)
    gsum = torch.zeros_like(gmax).scatter_add(-1, idx, torch.exp(shifted))
    return shifted - torch.log(gsum).gather(-1, idx)


def label_targets(tree: WordTree, labels: torch.Tensor) -> torch.Tensor:
    """(M,) int64 node indices -> (M, N) float 0/1: 1 at each label and at all its ancestors.

    A picture of a Norfolk terrier is also a terrier, a dog, ... (labels propagate up the tree).
    """
    m = labels.shape[0]
    parent = tree.parent.to(labels.device)
    out = torch.zeros(m, tree.num_nodes, device=labels.device)
    rows = torch.arange(m, device=labels.device)
    cur = labels.long()
    for _ in range(tree.max_depth + 1):
        live = cur >= 0
        out[rows[live], cur[live]] = 1.0
        cur = torch.where(live, parent[cur.clamp(min=0)], cur)
    return out


def hierarchical_nll(logits: torch.Tensor, labels: torch.Tensor, tree: WordTree) -> torch.Tensor:
    """(M, N) logits, (M,) node indices -> (M,) sum over the groups on each label's path to the top of
    ``-log P(path node | parent)``.

    This is darknet's WordTree classification delta as a loss: in every group on the path the target
    is 1 at the path node and 0 at its siblings, so ``-d loss / d logits`` is ``target - softmax`` in
    those groups and 0 in every other group.
    """
    logp = group_log_softmax(logits, tree)
    return -(label_targets(tree, labels).to(logp.dtype) * logp).sum(dim=-1)


def predict_at_depth(absolute: torch.Tensor, tree: WordTree, depth: int) -> torch.Tensor:
    """(M, N) absolute probabilities -> (M,) the most probable node among those at ``depth`` (0: top
    level) and the leaves above it, a set whose probabilities sum to 1 (a cut through the tree)."""
    d = tree.depth.to(absolute.device)
    cut = (d == depth) | (tree.leaves.to(absolute.device) & (d < depth))
    masked = torch.where(cut, absolute, torch.full_like(absolute, float("-inf")))
    return masked.argmax(dim=-1)


def map_to_labels(absolute: torch.Tensor, label_map: Sequence[int]) -> torch.Tensor:
    """(M, N) absolute probabilities -> (M, C) probabilities of a flat label set whose class ``c`` is
    tree node ``label_map[c]`` (e.g. ``load_label_map('inet9k.map')``, C = 200)."""
    idx = torch.as_tensor(list(label_map), dtype=torch.int64, device=absolute.device)
    return absolute.index_select(-1, idx)
