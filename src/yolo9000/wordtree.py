"""WordTree: darknet's ``.tree`` format, per-group softmax, absolute probabilities, top-down decoding.

A tree file has one line per node, ``<wnid> <parent line index>`` (-1 at the top level). Darknet starts a
new sibling group (one softmax) wherever the parent changes from one line to the next, so siblings sit
on consecutive lines and every parent precedes its children.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch

from .errors import file_error, require_file


@dataclass(frozen=True, eq=False)
class WordTree:
    """A WordTree as darknet reads it.

    ``parent[i]``: parent node of ``i`` (-1 at the top); ``group[i]``: sibling group of ``i``;
    ``group_offset[g]``, ``group_size[g]``: contiguous node range of group ``g``; ``child[i]``: the group
    of ``i``'s children, -1 for a leaf. Group 0 is the top level.
    """

    wnids: tuple[str, ...]
    parent: torch.Tensor        # (N,) int64
    group: torch.Tensor         # (N,) int64
    group_offset: torch.Tensor  # (G,) int64
    group_size: torch.Tensor    # (G,) int64
    child: torch.Tensor         # (N,) int64

    @property
    def num_nodes(self) -> int:
        return len(self.wnids)

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


def load_tree(path: str | Path) -> WordTree:
    """Read a darknet ``.tree`` file (e.g. ``9k.tree``)."""
    p = require_file(path, "tree file")
    return parse_tree_lines(p.read_text(encoding="utf-8").splitlines(), p)


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
