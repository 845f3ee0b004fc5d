"""WordTree (the paper's Section 4): the tree, its hierarchical softmax and loss (:mod:`.tree`), and its
construction from WordNet 3.0 (:mod:`.wordnet`)."""
from yolo9000.wordtree.tree import (
    WordTree,
    absolute_probs,
    group_log_softmax,
    group_softmax,
    hierarchical_nll,
    label_targets,
    load_label_map,
    load_tree,
    map_to_labels,
    parse_tree_lines,
    predict_at_depth,
    read_tree_names,
    save_tree,
    top_down_darknet,
    tree_lines,
)
from yolo9000.wordtree.wordnet import build_wordtree, read_wordnet

__all__ = ["WordTree", "absolute_probs", "build_wordtree", "group_log_softmax", "group_softmax", "hierarchical_nll",
           "label_targets", "load_label_map", "load_tree", "map_to_labels", "parse_tree_lines", "predict_at_depth",
           "read_tree_names", "read_wordnet", "save_tree", "top_down_darknet", "tree_lines"]
