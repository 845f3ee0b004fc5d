"""WordNet 3.0 noun reader and the WordTree builder of the YOLO9000 paper (section 4, "Stronger").

``data.noun`` has one synset per line (license lines start with two spaces)::

    offset lex_filenum ss_type w_cnt(2 hex digits) (word lex_id){w_cnt} p_cnt(3 digits)
        (pointer_symbol target_offset pos source/target){p_cnt} [frames] | gloss

A noun's WordNet id is ``'n' + offset`` (8 digits). Hypernyms are the ``@`` (class) and ``@i``
(instance) pointers to other nouns. The builder turns label synsets into a tree by keeping, for each
label, one hypernym path up to a root synset; see :func:`build_wordtree` for the two rules.
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path

from yolo9000.errors import Yolo9000Error, file_error, read_text_file
from yolo9000.wordtree.tree import WordTree

DEFAULT_WORDNET_DIR = Path("/usr/share/wordnet")
PHYSICAL_ENTITY = "n00001930"  # darknet's 9k.tree hangs its top level under this synset
HYPERNYM_POINTERS = frozenset({"@", "@i"})
# Links in darknet's 9k.tree that WordNet 3.0 lacks (child -> parent), each hanging a synset that is only
# under "abstraction" into the physical-entity tree: bubble (a shape) under plaything, signal (a
# communication) under device, sign under signal. Used by the darknet rule.
DARKNET_EXTRA_HYPERNYMS: dict[str, str] = {
    "n09229709": "n03964744",  # bubble -> plaything
    "n06791372": "n03183080",  # signal -> device
    "n06793231": "n06791372",  # sign -> signal
}


@dataclass(frozen=True)
class Synset:
    """One noun synset: ``wnid`` ('n' + 8-digit offset), its lemmas (as written, with underscores) and
    the wnids of its hypernyms (class and instance), in file order."""

    wnid: str
    lemmas: tuple[str, ...]
    hypernyms: tuple[str, ...]

    @property
    def name(self) -> str:
        """First lemma, underscores as spaces (``physical_entity`` -> ``physical entity``)."""
        return self.lemmas[0].replace("_", " ")


@dataclass(frozen=True)
class WordNet:
    """The noun synsets of one ``data.noun``, by wnid (shared by :func:`read_wordnet`'s cache: do not
    modify it; :meth:`with_hypernyms` returns a changed copy)."""

    synsets: dict[str, Synset]

    def __contains__(self, wnid: object) -> bool:
        return wnid in self.synsets

    def __getitem__(self, wnid: str) -> Synset:
        return self.synsets[wnid]

    def with_hypernyms(self, links: dict[str, str]) -> WordNet:
        """A copy where each ``child -> parent`` link is an extra (first) hypernym of ``child``."""
        synsets = dict(self.synsets)
        for child, parent in links.items():
            s = synsets[child]
            synsets[child] = Synset(s.wnid, s.lemmas, (parent,) + tuple(h for h in s.hypernyms if h != parent))
        return WordNet(synsets)


def parse_synset_line(line: str, source: str) -> Synset:
    """Parse one synset line of ``data.noun``; ``source`` (``file:line``) names it in errors."""
    head = line.split(" | ", 1)[0].split()
    try:
        offset = head[0]
        if len(offset) != 8 or not offset.isdigit():
            raise ValueError(f"synset offset {offset!r} is not 8 digits")
        w_cnt = int(head[3], 16)
        lemmas = tuple(head[4:4 + 2 * w_cnt:2])
        k = 4 + 2 * w_cnt
        p_cnt = int(head[k])
        ptrs = head[k + 1:k + 1 + 4 * p_cnt]
        if len(lemmas) != w_cnt or w_cnt == 0 or len(ptrs) != 4 * p_cnt:
            raise ValueError("line is shorter than its word and pointer counts")
    except (IndexError, ValueError) as e:
        raise file_error(source, f"malformed synset line ({e})") from None
    hyper = tuple("n" + ptrs[j + 1] for j in range(0, len(ptrs), 4)
                  if ptrs[j] in HYPERNYM_POINTERS and ptrs[j + 2] == "n")
    return Synset("n" + offset, lemmas, hyper)


def parse_data_noun(text: str, source: str | Path) -> WordNet:
    """Parse the text of a ``data.noun`` file (license header lines start with a space)."""
    synsets: dict[str, Synset] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line or line[0] == " ":
            continue
        s = parse_synset_line(line, f"{source}:{lineno}")
        synsets[s.wnid] = s
    if not synsets:
        raise file_error(source, "no synsets (is this WordNet's data.noun?)")
    for s in synsets.values():
        for h in s.hypernyms:
            if h not in synsets:
                raise file_error(source, f"synset {s.wnid} has hypernym {h}, which is not in the file")
    return WordNet(synsets)


@lru_cache(maxsize=4)
def _read_cached(path: str, mtime_ns: int, size: int) -> WordNet:
    del mtime_ns, size  # cache key only: a changed file is read again
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse_data_noun(f.read(), path)


def read_wordnet(wordnet_dir: str | Path | None = None) -> WordNet:
    """Read ``<dir>/data.noun`` (default ``/usr/share/wordnet``), cached per process and file version."""
    d = Path(wordnet_dir) if wordnet_dir is not None else DEFAULT_WORDNET_DIR
    path = d / "data.noun"
    if not d.is_dir() or not path.is_file():
        raise file_error(path, "WordNet 3.0 not found: run 'apt-get install wordnet-base' or pass --wordnet DIR "
                               "(the folder holding data.noun)")
    st = os.stat(path)
    return _read_cached(str(path.resolve()), st.st_mtime_ns, st.st_size)


def read_wnid_list(path: str | Path, wordnet: WordNet) -> dict[str, int]:
    """Read one wnid per line (first field; blank lines and ``#`` comments skipped) -> ``{wnid: line}``
    in file order.

    Raises a one-line error naming ``file:line`` for an id that is not a WordNet noun, or a duplicate.
    """
    p, text = read_text_file(path, "wnid list")
    out: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        field = line.split("#", 1)[0].split()
        if not field:
            continue
        wnid = field[0]
        if wnid not in wordnet:
            problem = ("is not in this WordNet's nouns" if re.fullmatch(r"n\d{8}", wnid)
                       else "is not a WordNet noun id (expected n + 8 digits)")
            raise file_error(f"{p}:{lineno}", f"{wnid!r} {problem}")
        if wnid in out:
            raise file_error(f"{p}:{lineno}", f"{wnid} repeats line {out[wnid]}")
        out[wnid] = lineno
    if not out:
        raise file_error(p, "no wnids in the list")
    return out


def hypernym_paths(wordnet: WordNet, wnid: str, root: str = PHYSICAL_ENTITY,
                   memo: dict[str, list[tuple[str, ...]]] | None = None) -> list[tuple[str, ...]]:
    """Every hypernym path from ``root`` down to ``wnid``, each ``(root, ..., wnid)``.

    Paths that do not pass through ``root`` are dropped (so ``[]`` when ``wnid`` is not under it). Order
    is deterministic: hypernyms in file order, depth first. ``memo`` (per ``root``) may be shared across
    calls to make many look-ups fast.
    """
    memo = {} if memo is None else memo
    stack = [wnid]
    while stack:  # iterative post-order: fill memo for every ancestor before its descendants
        w = stack[-1]
        if w in memo:
            stack.pop()
            continue
        todo = [h for h in wordnet[w].hypernyms if h not in memo] if w != root else []
        if todo:
            stack.extend(todo)
            continue
        stack.pop()
        memo[w] = [(w,)] if w == root else [p + (w,) for h in wordnet[w].hypernyms for p in memo[h]]
    return memo[wnid]


class Rule(str, Enum):
    """How :func:`build_wordtree` turns the chosen hypernym paths into a tree.

    ``paper``: the paper's rule literally: the union of the chosen paths, every synset on them kept.
    ``darknet`` (default): the same paths, then (1) every non-label synset with a single child is removed,
    its child taking its place (darknet's 9k.tree has "atmospheric phenomenon" at its top level, the
    chain process > phenomenon > ... > physical phenomenon gone), and (2) a label whose only child is a
    leaf gives that child to its own parent, so it becomes a leaf beside it (9k.tree has cantaloup beside
    muskmelon under melon, not under muskmelon): a one-node group would always have probability 1.
    """

    PAPER = "paper"
    DARKNET = "darknet"


def choose_paths(paths: dict[str, list[tuple[str, ...]]], order: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The paper's rule: labels with a single path first; then the others one at a time, in ``order``,
    each taking the path that adds the fewest synsets not yet in the tree (ties: the earliest path in
    :func:`hypernym_paths` order). ``paths[w]`` must be non-empty. Returns the chosen path per label."""
    chosen: dict[str, tuple[str, ...]] = {}
    in_tree: set[str] = set()
    for w in order:
        if len(paths[w]) == 1:
            chosen[w] = paths[w][0]
            in_tree.update(paths[w][0])
    for w in order:
        if w not in chosen:
            best = min(paths[w], key=lambda path: sum(n not in in_tree for n in path))
            chosen[w] = best
            in_tree.update(best)
    return chosen


def links_of_paths(chosen: dict[str, tuple[str, ...]], order: Sequence[str]) -> dict[str, str]:
    """Child -> parent links of the union of the chosen paths, in order of first appearance (labels in
    ``order``, each path root first). The root is not a key. When two paths give a synset different
    parents (possible when one path runs through another label), the first one wins."""
    parent: dict[str, str] = {}
    for w in order:
        path = chosen[w]
        for up, node in zip(path, path[1:]):
            parent.setdefault(node, up)
    return parent


def _children(parent: dict[str, str]) -> dict[str, list[str]]:
    kids: dict[str, list[str]] = {}
    for c, p in parent.items():
        kids.setdefault(p, []).append(c)
    return kids


def collapse_single_children(parent: dict[str, str], labels: set[str]) -> dict[str, str]:
    """Remove every non-label synset (not the root) that has exactly one child: the child takes its
    place among its siblings. Chains collapse to their lowest node. Order of first appearance kept."""
    kids = _children(parent)
    removed: set[str] = {n for n in parent if n not in labels and len(kids.get(n, [])) == 1}

    def lift(n: str) -> str:  # nearest ancestor that stays
        p = parent[n]
        while p in removed:
            p = parent[p]
        return p

    return {n: lift(n) for n in parent if n not in removed}


def lift_lone_leaves(parent: dict[str, str], labels: set[str]) -> dict[str, str]:
    """For every label (not the root) whose only child is a leaf, move that child up to the label's
    parent (decided on the tree as given: no cascades)."""
    kids = _children(parent)
    moved = dict(parent)
    for n, ks in kids.items():
        if n in parent and n in labels and len(ks) == 1 and not kids.get(ks[0]):
            moved[ks[0]] = parent[n]
    return moved


def rule_wordnet(wordnet: WordNet, rule: Rule) -> WordNet:
    """The hypernym graph a rule builds from: WordNet itself for ``paper``; for ``darknet``, WordNet
    plus :data:`DARKNET_EXTRA_HYPERNYMS` (those whose two synsets exist)."""
    if rule is Rule.PAPER:
        return wordnet
    return wordnet.with_hypernyms({c: p for c, p in DARKNET_EXTRA_HYPERNYMS.items() if c in wordnet and p in wordnet})


def labels_outside_root(wordnet: WordNet, labels: Sequence[str], rule: Rule = Rule.DARKNET,
                        root: str = PHYSICAL_ENTITY) -> list[str]:
    """The labels (known WordNet ids) with no hypernym path through ``root`` under ``rule``'s graph
    (the root itself included): :func:`build_wordtree` refuses them."""
    wordnet = rule_wordnet(wordnet, rule)
    memo: dict[str, list[tuple[str, ...]]] = {}
    return [w for w in labels if w == root or not hypernym_paths(wordnet, w, root, memo)]


def build_wordtree(wordnet: WordNet, labels: Sequence[str], rule: Rule = Rule.DARKNET,
                   root: str = PHYSICAL_ENTITY) -> WordTree:
    """A WordTree holding every label of ``labels`` (WordNet noun ids) and the synsets that connect
    them to ``root`` (not itself a node: its children form the top level, as in darknet's 9k.tree).

    Paths follow :func:`choose_paths` (the paper's rule) over :func:`rule_wordnet`'s graph, shaped by
    ``rule`` (see :class:`Rule`). Nodes come breadth first, siblings in order of first appearance
    (labels in the given order, each path root first); names are each synset's first lemma.
    Raises a one-line error for an unknown id, a repeated one, or one with no path through ``root``.
    """
    if root not in wordnet:
        raise Yolo9000Error(f"root {root} is not a WordNet noun id")
    if not labels:
        raise Yolo9000Error("no labels to build a tree from")
    seen: set[str] = set()
    for w in labels:
        if w not in wordnet:
            raise Yolo9000Error(f"{w} is not a WordNet 3.0 noun id")
        if w in seen:
            raise Yolo9000Error(f"{w} is listed twice")
        seen.add(w)
    wordnet = rule_wordnet(wordnet, rule)
    memo: dict[str, list[tuple[str, ...]]] = {}
    paths = {w: hypernym_paths(wordnet, w, root, memo) for w in labels}
    for w in labels:
        if w == root or not paths[w]:
            raise Yolo9000Error(f"{w} ({wordnet[w].name}) has no hypernym path through the root {root} "
                                f"({wordnet[root].name})")
    parent = links_of_paths(choose_paths(paths, labels), labels)
    if rule is Rule.DARKNET:
        parent = lift_lone_leaves(collapse_single_children(parent, seen), seen)
    nodes = list(parent)
    index = {w: i for i, w in enumerate(nodes)}
    parents = [index.get(parent[w], -1) for w in nodes]
    return WordTree.from_parents(nodes, parents, [wordnet[w].name for w in nodes])
