"""``yolo9000 wordtree build`` (a WordTree from WordNet 3.0) and ``yolo9000 wordtree info``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from yolo9000.errors import Yolo9000Error, file_error
from yolo9000.fileio import check_outputs
from yolo9000.wordtree.tree import WordTree, load_tree, save_tree
from yolo9000.wordtree.wordnet import (
    DEFAULT_WORDNET_DIR,
    PHYSICAL_ENTITY,
    Rule,
    build_wordtree,
    labels_outside_root,
    read_wnid_list,
    read_wordnet,
)


def add_wordtree_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``wordtree build ...`` and ``wordtree info ...`` to a CLI's subparsers."""
    p = subparsers.add_parser("wordtree", help="build a WordTree from WordNet, or describe one",
                              description="Build a darknet-format WordTree from WordNet 3.0 (YOLO9000's rule) "
                                          "or print a tree's size.")
    sub = p.add_subparsers(dest="wordtree_command", required=True, metavar="{build,info}")
    b = sub.add_parser("build", help="build a tree from a list of WordNet noun ids",
                       description="Build a WordTree holding every listed synset and the WordNet synsets linking "
                                   "them to the root; writes TREE (darknet's '<wnid> <parent>' lines) and its names "
                                   "(first lemma of each synset, one per tree line).")
    b.add_argument("--wnids", required=True, metavar="FILE", help="one WordNet noun id (n + 8 digits) per line")
    b.add_argument("--wordnet", default=None, metavar="DIR",
                   help="folder holding WordNet 3.0's data.noun (default /usr/share/wordnet, apt package wordnet-base)")
    b.add_argument("--rule", choices=[r.value for r in Rule], default=Rule.DARKNET.value,
                   help="paper: the paper's path rule, every synset kept; darknet (default): also drop lone "
                        "non-label synsets, lift lone leaves, and darknet's extra links (like 9k.tree)")
    b.add_argument("--root", default=PHYSICAL_ENTITY, metavar="WNID",
                   help=f"root synset, not itself a node: its children are the top level (default {PHYSICAL_ENTITY}, "
                        "physical entity, as in 9k.tree; n00001740 is WordNet's top, entity)")
    b.add_argument("--drop-outside", action="store_true",
                   help="leave out (with a warning) listed synsets that are not under the root, instead of failing")
    b.add_argument("-o", "--output", required=True, metavar="TREE", help="tree file to write (e.g. my.tree)")
    b.add_argument("--names", default=None, metavar="FILE",
                   help="names file to write (default: TREE with suffix .names)")
    i = sub.add_parser("info", help="print a tree's nodes, groups, leaves and depth",
                       description="Print a darknet tree file's node, group and leaf counts and its maximum depth "
                                   "(0 = a single level).")
    i.add_argument("tree", help="tree file (darknet format, e.g. 9k.tree)")
    i.add_argument("--names", default=None, metavar="FILE", help="names file (one per tree line) to check and show")
    i.add_argument("--json", action="store_true", help='print {"nodes", "groups", "leaves", "max_depth"} as JSON')
    return p


def names_path_for(tree_path: str | Path) -> Path:
    """Default names file beside a tree: ``my.tree`` -> ``my.names`` (darknet's 9k.tree / 9k.names)."""
    return Path(tree_path).with_suffix(".names")


def tree_summary(tree: WordTree) -> dict[str, int]:
    """``{"nodes", "groups", "leaves", "max_depth"}`` of a tree."""
    return {"nodes": tree.num_nodes, "groups": tree.num_groups, "leaves": int(tree.leaves.sum()),
            "max_depth": tree.max_depth}


def _build(a: argparse.Namespace) -> int:
    rule = Rule(a.rule)
    out = Path(a.output)
    names = Path(a.names) if a.names else names_path_for(out)
    if names.resolve() == out.resolve():
        raise file_error(names, "the names file would overwrite the tree; pass --names or a TREE ending in .tree")
    wordnet_dir = Path(a.wordnet) if a.wordnet is not None else DEFAULT_WORDNET_DIR
    check_outputs({"-o": out, "--names": names}, reads=[a.wnids, wordnet_dir, wordnet_dir / "data.noun"])
    wordnet = read_wordnet(a.wordnet)
    if a.root not in wordnet:
        raise Yolo9000Error(f"--root {a.root} is not a WordNet 3.0 noun id")
    lines = read_wnid_list(a.wnids, wordnet)
    outside = labels_outside_root(wordnet, list(lines), rule, a.root)
    if outside and not a.drop_outside:
        w = outside[0]
        raise file_error(f"{a.wnids}:{lines[w]}", f"{w} ({wordnet[w].name}) is not under the root {a.root} "
                         f"({wordnet[a.root].name}); pass --drop-outside to leave it out, or another --root"
                         + (f" ({len(outside)} such ids)" if len(outside) > 1 else ""))
    for w in outside:
        print(f"yolo9000: warning: {a.wnids}:{lines[w]}: left out {w} ({wordnet[w].name}), not under the root "
              f"{a.root}", file=sys.stderr)
    labels = [w for w in lines if w not in set(outside)]
    if not labels:
        raise file_error(a.wnids, f"no listed synset is under the root {a.root}")
    tree = build_wordtree(wordnet, labels, rule, a.root)
    save_tree(tree, out, names)
    s = tree_summary(tree)
    print(f"{out}: {s['nodes']} nodes ({len(labels)} listed + {s['nodes'] - len(labels)} linking synsets), "
          f"{s['groups']} groups, {s['leaves']} leaves, max depth {s['max_depth']} (rule {rule.value})")
    print(f"{names}: {s['nodes']} names")
    return 0


def _info(a: argparse.Namespace) -> int:
    tree = load_tree(a.tree, a.names)
    s = tree_summary(tree)
    if a.json:
        print(json.dumps(s))
        return 0
    for k, v in s.items():
        print(f"{k:<10}{v}")
    top = tree.top_level()
    shown = [tree.names[j] if tree.names else tree.wnids[j] for j in top[:10]]
    print(f"top level {len(top)}: " + ", ".join(shown) + (", ..." if len(top) > 10 else ""))
    return 0


def cmd_wordtree(a: argparse.Namespace) -> int:
    """Run ``wordtree build`` or ``wordtree info``; 0 on success (bad input raises Yolo9000Error)."""
    if a.wordtree_command == "build":
        return _build(a)
    return _info(a)
