"""WordNet data.noun parsing and the WordTree builder (paper and darknet rules), and its CLI."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from yolo9000.errors import Yolo9000Error
from yolo9000.wordtree.wordnet import (
    Rule, build_wordtree, choose_paths, hypernym_paths, labels_outside_root, parse_synset_line, read_wnid_list,
    read_wordnet,
)
from yolo9000.wordtree.tree import load_tree
from yolo9000.cli.wordtree import add_wordtree_parser, cmd_wordtree

from tests.conftest import SHARED

REAL_WORDNET = Path("/usr/share/wordnet")
needs_wordnet = pytest.mark.skipif(not (REAL_WORDNET / "data.noun").is_file(),
                                   reason="WordNet 3.0 not installed (apt-get install wordnet-base)")

# offset, lemmas, pointers: a tiny WordNet. physical entity is the root; "object" has two branches,
# "process" > "phenomenon" is a chain of lone non-labels; puppy has two hypernyms (young mammal first).
SYNSETS = [
    ("00001740", ["entity"], []),
    ("00001930", ["physical_entity"], [("@", "00001740")]),
    ("00002137", ["abstraction", "abstract_entity"], [("@", "00001740")]),
    ("00002684", ["object", "physical_object"], [("@", "00001930"), ("~", "00004258")]),
    ("00004258", ["living_thing"], [("@", "00002684")]),
    ("00004475", ["organism", "being"], [("@", "00004258")]),
    ("00015388", ["animal"], [("@", "00004475")]),
    ("02084071", ["dog", "domestic_dog"], [("@", "00015388"), ("+", "01234567", "v"), ("~", "02092468")]),
    ("01321579", ["young_mammal"], [("@", "00015388")]),
    ("01322604", ["puppy"], [("@", "01321579"), ("@", "02084071")]),
    ("02092468", ["terrier"], [("@", "02084071")]),
    ("09999001", ["Fido"], [("@i", "02084071")]),
    ("02121620", ["cat", "true_cat"], [("@", "00015388")]),
    ("02122725", ["kitten", "kitty"], [("@", "02121620")]),
    ("00021939", ["artifact"], [("@", "00002684")]),
    ("04524313", ["vehicle"], [("@", "00021939")]),
    ("02958343", ["car", "auto", "automobile", "machine", "motorcar", "a", "b", "c", "d", "e", "f"],
     [("@", "04524313")]),  # 11 words: w_cnt is hex "0b"
    ("02924116", ["bus"], [("@", "04524313")]),
    ("00029677", ["process", "physical_process"], [("@", "00001930")]),
    ("00034213", ["phenomenon"], [("@", "00029677")]),
    ("11425580", ["atmospheric_phenomenon"], [("@", "00034213")]),
    ("09247410", ["cloud"], [("@", "11425580")]),
    ("11501381", ["rain", "rainfall"], [("@", "11425580")]),
    ("05833840", ["idea", "thought"], [("@", "00002137")]),
]
LABELS = ["01322604", "02084071", "02092468", "09999001", "02121620", "02122725", "02958343", "02924116",
          "09247410", "11501381"]


def synset_line(offset: str, lemmas: list[str], pointers: list[tuple[str, ...]]) -> str:
    words = " ".join(f"{w} 0" for w in lemmas)
    ptrs = " ".join(f"{p[0]} {p[1]} {p[2] if len(p) > 2 else 'n'} 0000" for p in pointers)
    return f"{offset} 03 n {len(lemmas):02x} {words} {len(pointers):03d} {ptrs} | a gloss; \"with | bars\"  "


@pytest.fixture()
def tiny_wordnet(tmp_path: Path) -> Path:
    d = tmp_path / "wn"
    d.mkdir()
    header = ["  1 This software and database is being provided to you, the LICENSEE, by  ", "  2   "]
    (d / "data.noun").write_text("\n".join(header + [synset_line(*s) for s in SYNSETS]) + "\n")
    return d


def write_labels(path: Path, offsets: list[str]) -> Path:
    path.write_text("# labels\n" + "".join(f"n{o}\n" for o in offsets))
    return path


def links(tree) -> list[tuple[str, int]]:
    return list(zip(tree.names, tree.parent.tolist()))


def test_parse_synset_line() -> None:
    s = parse_synset_line(synset_line("02958343", ["car", "auto", "automobile", "machine", "motorcar", "a", "b", "c",
                                                   "d", "e", "f"], [("@", "04524313"), ("~", "1"), ("@i", "7")]), "x")
    assert s.wnid == "n02958343" and len(s.lemmas) == 11 and s.name == "car"
    assert s.hypernyms == ("n04524313", "n7")
    assert parse_synset_line(synset_line("00001930", ["physical_entity"], []), "x").name == "physical entity"
    with pytest.raises(Yolo9000Error, match="data.noun:3: malformed synset line"):
        parse_synset_line("00001930 03 n 02 only_one 0 000 | gloss", "data.noun:3")


def test_read_wordnet_and_paths(tiny_wordnet: Path) -> None:
    wn = read_wordnet(tiny_wordnet)
    assert len(wn.synsets) == len(SYNSETS) and read_wordnet(tiny_wordnet) is wn  # cached
    names = lambda ps: [[wn[w].name for w in p] for p in ps]  # noqa: E731
    assert names(hypernym_paths(wn, "n01322604")) == [
        ["physical entity", "object", "living thing", "organism", "animal", "young mammal", "puppy"],
        ["physical entity", "object", "living thing", "organism", "animal", "dog", "puppy"]]
    assert hypernym_paths(wn, "n09999001")[0][-2] == "n02084071"  # instance hypernym followed
    assert hypernym_paths(wn, "n05833840") == []
    assert labels_outside_root(wn, ["n05833840", "n02084071"]) == ["n05833840"]
    assert len(hypernym_paths(wn, "n05833840", "n00001740")) == 1


def test_missing_wordnet_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(Yolo9000Error, match="apt-get install wordnet-base.*--wordnet"):
        read_wordnet(tmp_path / "nowhere")


def test_paper_rule_known_tree(tiny_wordnet: Path) -> None:
    wn = read_wordnet(tiny_wordnet)
    tree = build_wordtree(wn, ["n" + o for o in LABELS], Rule.PAPER)
    assert links(tree) == [
        ("object", -1), ("process", -1), ("living thing", 0), ("artifact", 0), ("phenomenon", 1), ("organism", 2),
        ("vehicle", 3), ("atmospheric phenomenon", 4), ("animal", 5), ("car", 6), ("bus", 6), ("cloud", 7),
        ("rain", 7), ("dog", 8), ("cat", 8), ("puppy", 13), ("terrier", 13), ("Fido", 13), ("kitten", 14)]
    # puppy is listed first, but labels with a single path go in first: dog is then in the tree and the
    # path through dog adds one synset, the one through young mammal two


def test_darknet_rule_collapses_chains_and_lifts_lone_leaves(tiny_wordnet: Path) -> None:
    wn = read_wordnet(tiny_wordnet)
    tree = build_wordtree(wn, ["n" + o for o in LABELS], Rule.DARKNET)
    assert links(tree) == [
        ("object", -1), ("atmospheric phenomenon", -1), ("animal", 0), ("vehicle", 0), ("cloud", 1), ("rain", 1),
        ("dog", 2), ("cat", 2), ("kitten", 2), ("car", 3), ("bus", 3), ("puppy", 6), ("terrier", 6), ("Fido", 6)]
    # with cat not a label, cat (a lone non-label) is removed instead and kitten takes its place
    without_cat = build_wordtree(wn, ["n" + o for o in LABELS if o != "02121620"], Rule.DARKNET)
    assert ("kitten", 2) in links(without_cat) and "cat" not in without_cat.names


def test_choose_paths_ties_take_the_first_path() -> None:
    paths = {"x": [("r", "a", "x"), ("r", "b", "x")], "y": [("r", "b", "y"), ("r", "a", "y")], "z": [("r", "b", "z")]}
    assert choose_paths(paths, ["x", "y"]) == {"x": ("r", "a", "x"), "y": ("r", "a", "y")}
    assert choose_paths(paths, ["x", "y", "z"]) == {"z": ("r", "b", "z"), "x": ("r", "b", "x"), "y": ("r", "b", "y")}


def test_build_rejects_bad_labels(tiny_wordnet: Path, tmp_path: Path) -> None:
    wn = read_wordnet(tiny_wordnet)
    with pytest.raises(Yolo9000Error, match=r"n05833840 \(idea\) has no hypernym path through the root"):
        build_wordtree(wn, ["n02084071", "n05833840"])
    with pytest.raises(Yolo9000Error, match="listed twice"):
        build_wordtree(wn, ["n02084071", "n02084071"])
    bad = tmp_path / "bad.txt"
    bad.write_text("n02084071\n\nn12345678 # nope\n")
    with pytest.raises(Yolo9000Error, match=r"bad.txt:3: 'n12345678' is not in this WordNet's nouns"):
        read_wnid_list(bad, wn)
    bad.write_text("n02084071\nn02084071\n")
    with pytest.raises(Yolo9000Error, match=r"bad.txt:2: n02084071 repeats line 1"):
        read_wnid_list(bad, wn)


def run_cli(args: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="yolo9000")
    add_wordtree_parser(ap.add_subparsers(dest="command"))
    return cmd_wordtree(ap.parse_args(args))


def test_cli_build_and_info(tiny_wordnet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wnids = write_labels(tmp_path / "labels.txt", LABELS)
    out = tmp_path / "my.tree"
    assert run_cli(["wordtree", "build", "--wnids", str(wnids), "--wordnet", str(tiny_wordnet), "-o", str(out)]) == 0
    tree = load_tree(out, tmp_path / "my.names")
    assert tree.num_nodes == 14 and tree.names[:2] == ("object", "atmospheric phenomenon")
    assert "14 nodes (10 listed + 4 linking synsets)" in capsys.readouterr().out
    assert run_cli(["wordtree", "build", "--wnids", str(wnids), "--wordnet", str(tiny_wordnet), "--rule", "paper",
                    "-o", str(out)]) == 0
    capsys.readouterr()
    assert run_cli(["wordtree", "info", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"nodes": 19, "groups": 12, "leaves": 8, "max_depth": 5}
    assert run_cli(["wordtree", "info", str(out), "--names", str(tmp_path / "my.names")]) == 0
    assert "top level 2: object, process" in capsys.readouterr().out


def test_cli_errors_name_file_and_line(tiny_wordnet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wnids = write_labels(tmp_path / "labels.txt", ["02084071", "05833840", "02121620"])
    base = ["wordtree", "build", "--wnids", str(wnids), "--wordnet", str(tiny_wordnet), "-o", str(tmp_path / "t.tree")]
    with pytest.raises(Yolo9000Error, match=r"labels.txt:3: n05833840 \(idea\) is not under the root.*--drop-outside"):
        run_cli(base)
    assert run_cli(base + ["--drop-outside"]) == 0
    assert "labels.txt:3: left out n05833840 (idea)" in capsys.readouterr().err
    # object > living thing > organism collapsed: animal (two children) is the one top-level node
    assert load_tree(tmp_path / "t.tree").wnids == ("n00015388", "n02084071", "n02121620")
    assert run_cli(base + ["--root", "n00001740"]) == 0
    with pytest.raises(Yolo9000Error, match="apt-get install wordnet-base"):
        run_cli(["wordtree", "build", "--wnids", str(wnids), "--wordnet", str(tmp_path / "none"), "-o", "x.tree"])


@needs_wordnet
def test_imagenet_1k_build_matches_recorded_sizes() -> None:
    wn = read_wordnet(REAL_WORDNET)
    labels = (SHARED / "darknet-data" / "imagenet.labels.list").read_text().split()[:1000]
    darknet = build_wordtree(wn, labels, Rule.DARKNET)
    assert (darknet.num_nodes, int(darknet.leaves.sum())) == (1372, 1000)  # the paper reports 1,369
    outside = labels_outside_root(wn, labels, Rule.PAPER)
    assert [wn[w].name for w in outside] == ["traffic light", "street sign", "bubble"]
    paper = build_wordtree(wn, [w for w in labels if w not in outside], Rule.PAPER)
    assert paper.num_nodes == 1769


@needs_wordnet
def test_9k_rebuild_reproduces_most_parent_links() -> None:
    ref = load_tree(SHARED / "darknet-data" / "9k.tree")
    built = build_wordtree(read_wordnet(REAL_WORDNET), list(ref.wnids), Rule.DARKNET)
    link = lambda t: {w: (t.wnids[p] if p >= 0 else None) for w, p in zip(t.wnids, t.parent.tolist())}  # noqa: E731
    ours, theirs = link(built), link(ref)
    same = sum(ours.get(w, "missing") == p for w, p in theirs.items())
    assert same >= 9319  # 98.95% of 9,418 when this was written


def test_dangling_hypernym_is_reported(tmp_path: Path) -> None:
    from yolo9000.wordtree.wordnet import parse_data_noun
    with pytest.raises(Yolo9000Error, match="d.noun: synset n00000002 has hypernym n00000009"):
        parse_data_noun(synset_line("00000001", ["a"], []) + "\n" + synset_line("00000002", ["b"], [("@", "00000009")]),
                        "d.noun")
