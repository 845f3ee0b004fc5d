"""Bad input at the command line, as a hostile but realistic user gives it (project issue 13).

The contract: every bad user input stops with exactly ONE line on stderr, ``yolo9000: error: <file>: <problem>``
(the file named, and a line number for cfg files where it helps), exit code 2, nothing on stdout, no traceback,
and the disk as it was: no output file or folder created, no ``.tmp`` or staging leftovers, every existing file
byte for byte unchanged.

One table, one parametrized test. Each :class:`Case` has an id (``group/what``), a setup that writes the bad
input into the case's own folder, an argv builder, the file the message must name, substrings the message must
hold (and must not hold), and an optional extra check on disk. Everything runs in-process through
``yolo9000.cli.app.main`` (a torch import per subprocess would be far too slow), inside the case's folder as the
working directory, with Python warnings printed to stderr as the installed command prints them.

Cases that break the contract today are kept in the table and marked ``xfail(strict=True)`` in ``DEFECTS``
with the diagnosis; when a defect is fixed its case XPASSes, fails the strict mark, and the mark must go.
Argparse's own usage errors (exit 2 plus a usage block) are a separate, small test at the end.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import stat
import struct
import sys
import traceback
import warnings
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from yolo9000.cli.app import build_parser, main

from tests.conftest import SHARED
from tests.train.test_classify import SMALL_CLASSIFIER

ROOT = Path(__file__).resolve().parents[2]
RACCOON_YAML = ROOT / "data" / "raccoon.yaml"
RACCOON = SHARED / "datasets" / "raccoon"
HAS_CUDA = torch.cuda.is_available()

# ------------------------------------------------------------------------------------------ tiny inputs
NET = "[net]\nwidth=64\nheight=64\nchannels=3\n"
# a 1-class detector: stride 32, 2 anchors, 356 floats; builds and runs in milliseconds
DET_CFG = NET + """[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky
[maxpool]
size=2
stride=2
[maxpool]
size=2
stride=2
[maxpool]
size=2
stride=2
[maxpool]
size=2
stride=2
[convolutional]
filters=12
size=1
stride=1
pad=1
activation=linear
[region]
anchors=1,1,2.5,2.5
classes=1
num=2
coords=4
softmax=1
jitter=.2
"""
CLS_CFG = SMALL_CLASSIFIER  # the classifier of the training tests (32 px, 2 classes)
NANO = "yolov2-nano"


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line of ``text`` that contains ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width x height`` pixels and holds almost no data (cheap to write, cheap to open)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b""))


def synset_line(offset: str, lemmas: list[str], hypernyms: list[str]) -> str:
    words = " ".join(f"{w} 0" for w in lemmas)
    ptrs = " ".join(f"@ {h} n 0000" for h in hypernyms)
    return f"{offset} 03 n {len(lemmas):02x} {words} {len(hypernyms):03d} {ptrs} | a gloss  "


class _RunsCode:
    """Pickles to a call of os.mkdir: loading the file with full pickle would create the folder."""

    def __init__(self, target: Path) -> None:
        self.target = str(target)

    def __reduce__(self):  # noqa: ANN204
        return (os.mkdir, (self.target,))


@dataclass(frozen=True)
class Assets:
    """Read-only inputs shared by all cases (made once per session)."""

    root: Path
    weights: Path       # yolov2-nano darknet .weights (random, seeded)
    pt: Path            # yolov2-nano checkpoint
    det_cfg: Path       # DET_CFG
    det_weights: Path   # DET_CFG's .weights
    cls_cfg: Path       # CLS_CFG
    image: Path         # a 64x48 noise JPEG
    wordnet: Path       # a 3-synset WordNet folder (data.noun)
    tree: Path          # a 2-node WordTree
    det_map: Path       # maps class 0 of a 1-class set to tree node 0


@pytest.fixture(scope="module")
def assets(tmp_path_factory) -> Assets:
    root = tmp_path_factory.mktemp("bad-input-assets")
    det_cfg = root / "det.cfg"
    det_cfg.write_text(DET_CFG)
    cls_cfg = root / "cls.cfg"
    cls_cfg.write_text(CLS_CFG)
    for argv in (["convert", "--model", NANO, "-o", root / "nano.weights"],
                 ["convert", "--model", NANO, "-o", root / "nano.pt"],
                 ["convert", "--model", det_cfg, "-o", root / "det.weights"]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert main([str(a) for a in argv]) == 0
    image = root / "image.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(image)
    wordnet = root / "wordnet"
    wordnet.mkdir()
    (wordnet / "data.noun").write_text("\n".join([
        synset_line("00001740", ["entity"], []),
        synset_line("00001930", ["physical_entity"], ["00001740"]),
        synset_line("02084071", ["dog"], ["00001930"]),
    ]) + "\n")
    tree = root / "two.tree"
    tree.write_text("n00000001 -1\nn00000002 -1\n")
    det_map = root / "det.map"
    det_map.write_text("0\n")
    return Assets(root, root / "nano.weights", root / "nano.pt", det_cfg, root / "det.weights", cls_cfg, image,
                  wordnet, tree, det_map)


class W:
    """One case's workspace: its own folder (also the working directory) and the shared assets."""

    def __init__(self, tmp: Path, a: Assets) -> None:
        self.tmp, self.a = tmp, a

    def p(self, rel: str) -> Path:
        return self.tmp / rel

    def write(self, rel: str, content: str | bytes) -> Path:
        path = self.p(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    def image(self, rel: str, size: tuple[int, int] = (64, 48), seed: int = 0) -> Path:
        path = self.p(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(seed)
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
        return path

    def cfg(self, rel: str = "bad.cfg", text: str = DET_CFG, old: str | None = None, new: str = "") -> Path:
        if old is not None:
            assert old in text, old
            text = text.replace(old, new, 1)
        return self.write(rel, text)

    def voc(self, name: str = "voc", b_objects: str | None = None, b_xml: str | None = None,
            names: str = "[cat]") -> Path:
        """A flat VOC set of two 64x48 images, a.jpg (one good box) and b.jpg (``b_objects`` or a good box);
        ``list.txt`` is both the train and val split."""
        self.image(f"{name}/images/a.jpg", seed=1)
        self.image(f"{name}/images/b.jpg", seed=2)

        def xml(filename: str, objects: str) -> str:
            return (f"<annotation><filename>{filename}</filename><size><width>64</width><height>48</height>"
                    f"<depth>3</depth></size>{objects}</annotation>")

        self.write(f"{name}/annotations/a.xml", xml("a.jpg", voc_object("cat", 5, 5, 40, 30)))
        self.write(f"{name}/annotations/b.xml",
                   b_xml if b_xml is not None else xml("b.jpg", b_objects or voc_object("cat", 10, 10, 30, 30)))
        self.write(f"{name}/list.txt", "a\nb\n")
        return self.write(f"{name}/data.yaml",
                          f"path: .\nformat: voc\ntrain: list.txt\nval: list.txt\nnames: {names}\n")

    def yolo(self, name: str = "yolo", b_label: str = "0 0.5 0.5 0.2 0.2\n") -> Path:
        """A YOLO-txt set of two images; b.txt holds ``b_label``."""
        self.image(f"{name}/images/a.jpg", seed=1)
        self.image(f"{name}/images/b.jpg", seed=2)
        self.write(f"{name}/labels/a.txt", "0 0.5 0.5 0.3 0.3\n")
        self.write(f"{name}/labels/b.txt", b_label)
        return self.write(f"{name}/data.yaml", "path: .\nformat: yolo\ntrain: images\nval: images\nnames: [cat]\n")

    def yaml(self, text: str, rel: str = "data.yaml") -> Path:
        """A dataset YAML beside the case; ``{raccoon}`` stands for the shared raccoon folder."""
        return self.write(rel, text.replace("{raccoon}", str(RACCOON)))

    def wnid_folder(self, name: str = "wnids") -> Path:
        """Classification images for train-joint: one folder per wnid of the assets' two-node tree."""
        self.image(f"{name}/n00000001/0.png", (40, 40))
        return self.p(name)

    def imagefolder(self, name: str = "cls", bad: str | None = None) -> Path:
        """train/ and val/ with classes a and b (one PNG each); ``bad``: a zero-byte file at that path."""
        for split in ("train", "val"):
            for k, cls in enumerate("ab"):
                self.image(f"{name}/{split}/{cls}/0.png", (40, 40), seed=k)
        if bad:
            self.write(f"{name}/{bad}", b"")
        return self.p(name)


def voc_object(name: str, x1: Any, y1: Any, x2: Any, y2: Any) -> str:
    return (f"<object><name>{name}</name><difficult>0</difficult><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
            f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>")


# ------------------------------------------------------------------------------------------ the table
Argv = Callable[[W], Sequence[Any]]


@dataclass(frozen=True)
class Case:
    """One bad input.

    id: ``group/what``; argv: builds the command line (after ``yolo9000``); setup: writes the inputs;
    names: the file the message must name (with ``:line`` for cfg files), None for a bad option value;
    expect / forbid: substrings the message must / must not hold; post: an extra check of the disk;
    outcome: ``error`` (exit 2, one error line), ``warning`` (exit 0 and one ``yolo9000: warning:`` line
    holding ``expect``), ``error-or-warning`` (either of the two) or ``ok`` (exit 0, no error or warning: an
    output written where it may be); new_ok: paths (relative to the case folder) a passing ``warning`` or ``ok``
    run may create.
    """

    id: str
    argv: Argv
    setup: Callable[[W], Any] | None = None
    names: Callable[[W], Any] | None = None
    expect: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    post: Callable[[W], None] | None = None
    outcome: str = "error"
    new_ok: tuple[str, ...] = ()
    skip: str | None = None


def fast(*extra: Any) -> list[Any]:
    return ["--imgsz", "64", "--quiet", *extra]


_DEFAULT: Any = object()


def predict(w: W, *source: Any, model: Any = NANO, weights: Any = _DEFAULT, extra: Sequence[Any] = ()) -> list[Any]:
    """``predict`` on the good image (or ``source``); yolov2-nano gets its weights unless told otherwise."""
    if weights is _DEFAULT:
        weights = w.a.weights if model == NANO else None
    argv = ["predict", *(source or (w.a.image,)), "--model", model, *fast(*extra)]
    return argv + (["--weights", weights] if weights is not None else [])


def val(w: W, data: Any, *extra: Any, model: Any = None) -> list[Any]:
    return ["val", "--data", data, "--model", model or w.a.det_cfg, "--no-plots", *fast(*extra)]


def train(w: W, data: Any, *extra: Any, model: Any = None) -> list[Any]:
    return ["train", "--data", data, "--model", model or w.a.det_cfg, "--imgsz", "64", "--epochs", "1",
            "--workers", "0", "--no-tensorboard", "--project", w.p("runs"), *extra]


def train_cls(w: W, data: Any, *extra: Any) -> list[Any]:
    return ["train-classifier", "--data", data, "--model", w.a.cls_cfg, "--imgsz", "32", "--batch", "2",
            "--epochs", "1", "--workers", "0", "--project", w.p("runs"), *extra]


def joint(w: W, data: Any, cls_data: Any, *extra: Any) -> list[Any]:
    return ["train-joint", "--data", data, "--cls-data", cls_data, "--model", w.a.det_cfg, "--tree", w.a.tree,
            "--det-map", w.a.det_map, "--imgsz", "64", "--epochs", "1", "--workers", "0",
            "--project", w.p("runs"), *extra]


def anchors(data: Any, *extra: Any) -> list[Any]:
    return ["anchors", "--data", data, "-k", "1", "--restarts", "1", *extra]


def benchmark(w: W, *extra: Any) -> list[Any]:
    return ["benchmark", "--model", w.a.det_cfg, "--weights", w.a.det_weights, "--imgsz", "64", "--iters", "1",
            "--warmup", "0", "--peak-seconds", "0.01", *extra]


def score_files(w: W, dets: Any = None, gt: Any = None, raw_dets: str | None = None, raw_gt: str | None = None,
                gt_bytes: bytes | None = None) -> None:
    """gt.json (one 'cat' box on image 1) and dets.json (a perfect detection), or the given replacements."""
    import json

    good_gt = {"images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
               "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [5, 5, 20, 20], "area": 400,
                                "iscrowd": 0}],
               "categories": [{"id": 1, "name": "cat"}]}
    good_dets = [{"image_id": 1, "category_id": 1, "bbox": [5, 5, 20, 20], "score": 0.9}]
    if gt_bytes is not None:
        w.write("gt.json", gt_bytes)
    else:
        w.write("gt.json", raw_gt if raw_gt is not None else json.dumps(good_gt if gt is None else gt))
    w.write("dets.json", raw_dets if raw_dets is not None else json.dumps(good_dets if dets is None else dets))


def score(w: W, *extra: Any) -> list[Any]:
    return ["score", "--gt", w.p("gt.json"), "--dets", w.p("dets.json"), *extra]


def absent(*rels: str) -> Callable[[W], None]:
    def check(w: W) -> None:
        for rel in rels:
            assert not w.p(rel).exists(), f"{rel} exists after the failure"
    return check


def torch_save(obj: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path)
    return path


def checkpoint_without(w: W, key: str) -> Path:
    ckpt = torch.load(w.a.pt, map_location="cpu", weights_only=True)
    del ckpt[key]
    return torch_save(ckpt, w.p(f"no-{key}.pt"))


def newer_checkpoint(w: W) -> Path:
    ckpt = torch.load(w.a.pt, map_location="cpu", weights_only=True)
    ckpt["version"] = 99
    return torch_save(ckpt, w.p("newer.pt"))


SUBCOMMANDS_WITHOUT_INPUT = {"zoo": "takes no input", "shapes": "only writes (--out); see the shapes/ cases"}

CASES: list[Case] = [
    # ---------------------------------------------------------------- every subcommand, main input missing
    Case("missing/predict", lambda w: predict(w, w.p("nowhere/")), names=lambda w: w.p("nowhere"),
         expect=("no such",)),
    Case("missing/track", lambda w: ["track", *predict(w, w.p("nowhere.mp4"))[1:]],
         names=lambda w: w.p("nowhere.mp4"), expect=("no such",)),
    Case("missing/convert", lambda w: ["convert", "--model", w.p("missing.cfg"), "-o", w.p("out.weights")],
         names=lambda w: w.p("missing.cfg"), expect=("no such",)),
    Case("missing/info", lambda w: ["info", "--model", w.p("missing.pt")], names=lambda w: w.p("missing.pt"),
         expect=("no such",)),
    Case("missing/score", lambda w: ["score", "--gt", w.p("missing.json"), "--dets", w.p("dets.json")],
         setup=score_files, names=lambda w: w.p("missing.json"), expect=("no such",)),
    Case("missing/val", lambda w: val(w, w.p("missing.yaml")), names=lambda w: w.p("missing.yaml"),
         expect=("no such",)),
    Case("missing/train", lambda w: train(w, w.p("missing.yaml")), names=lambda w: w.p("missing.yaml"),
         expect=("no such",)),
    Case("missing/train-classifier", lambda w: train_cls(w, w.p("missing")), names=lambda w: w.p("missing"),
         expect=("no such",)),
    Case("missing/export", lambda w: ["export", "--model", w.p("missing.cfg"), "-o", w.p("out.onnx")],
         names=lambda w: w.p("missing.cfg"), expect=("no such",)),
    Case("missing/benchmark", lambda w: ["benchmark", "--model", w.p("missing.cfg"), "--iters", "1"],
         names=lambda w: w.p("missing.cfg"), expect=("no such",)),
    Case("missing/anchors", lambda w: anchors(w.p("missing.yaml")), names=lambda w: w.p("missing.yaml"),
         expect=("no such",)),
    Case("missing/train-joint", lambda w: joint(w, w.p("missing.yaml"), w.p("wnids")), setup=lambda w: w.wnid_folder(),
         names=lambda w: w.p("missing.yaml"), expect=("no such",)),
    Case("missing/wordtree-build",
         lambda w: ["wordtree", "build", "--wnids", w.p("missing.txt"), "--wordnet", w.a.wordnet, "-o", w.p("t.tree")],
         names=lambda w: w.p("missing.txt"), expect=("no such",)),
    Case("missing/wordtree-info", lambda w: ["wordtree", "info", w.p("missing.tree")],
         names=lambda w: w.p("missing.tree"), expect=("no such",)),
    Case("missing/check-data", lambda w: ["check-data", w.p("missing.yaml")], names=lambda w: w.p("missing.yaml"),
         expect=("no such",)),
    Case("missing/download", lambda w: ["download", "nosuch.weights"], names=lambda w: "nosuch.weights",
         expect=("download --list",)),  # a name darknet does not publish: no network, nothing written

    # ---------------------------------------------------------------- cfg files
    Case("cfg/empty", lambda w: ["info", "--model", w.p("bad.cfg")], setup=lambda w: w.write("bad.cfg", b""),
         names=lambda w: w.p("bad.cfg"), expect=("no sections",)),
    Case("cfg/comments-only", lambda w: predict(w, model=w.p("bad.cfg")),
         setup=lambda w: w.write("bad.cfg", "# a cfg\n\n; nothing else\n"), names=lambda w: w.p("bad.cfg"),
         expect=("no sections",)),
    Case("cfg/binary-garbage", lambda w: ["convert", "--model", w.p("bad.cfg"), "-o", w.p("out.weights")],
         setup=lambda w: w.write("bad.cfg", bytes(range(256)) * 4), names=lambda w: w.p("bad.cfg"),
         expect=("not a UTF-8 text file",)),
    Case("cfg/non-utf8-comment", lambda w: ["info", "--model", w.p("bad.cfg")],
         setup=lambda w: w.write("bad.cfg", DET_CFG.encode().replace(b"[region]", b"# caf\xe9\n[region]")),
         names=lambda w: w.p("bad.cfg"), expect=("UTF-8",)),
    Case("cfg/nul-byte", lambda w: ["info", "--model", w.p("bad.cfg")],
         setup=lambda w: w.cfg(old="filters=8\n", new="filters=8\x00\n"),
         names=lambda w: f"{w.p('bad.cfg')}:{line_of(DET_CFG, 'filters=8')}", expect=("filters",)),
    Case("cfg/unknown-section", lambda w: ["export", "--model", w.p("bad.cfg"), "-o", w.p("out.onnx")],
         setup=lambda w: w.cfg(old="[maxpool]", new="[maxpoool]"),
         names=lambda w: f"{w.p('bad.cfg')}:{line_of(DET_CFG, '[maxpool]')}", expect=("[maxpoool]",)),
    Case("cfg/bad-number-in-list", lambda w: val(w, w.voc(), model=w.p("bad.cfg")),
         setup=lambda w: w.cfg(old="anchors=1,1,2.5,2.5", new="anchors=1,1,2.5,x"),
         names=lambda w: f"{w.p('bad.cfg')}:{line_of(DET_CFG, 'anchors=')}", expect=("anchors",)),
    Case("cfg/float-for-int", lambda w: ["benchmark", "--model", w.p("bad.cfg"), "--iters", "1"],
         setup=lambda w: w.cfg(old="filters=8\n", new="filters=8.5\n"),
         names=lambda w: f"{w.p('bad.cfg')}:{line_of(DET_CFG, 'filters=8')}", expect=("filters=8.5",)),
    Case("cfg/huge-int", lambda w: ["info", "--model", w.p("bad.cfg")],
         setup=lambda w: w.cfg(old="filters=8\n", new="filters=99999999999999999999\n"),
         names=lambda w: w.p("bad.cfg"), expect=("filters",)),
    Case("cfg/negative-classes", lambda w: ["info", "--model", w.p("bad.cfg")],
         setup=lambda w: w.cfg(old="classes=1", new="classes=-1"), names=lambda w: w.p("bad.cfg"),
         expect=("region",)),
    Case("cfg/missing-net", lambda w: train(w, w.voc(), model=w.p("bad.cfg")),
         setup=lambda w: w.write("bad.cfg", DET_CFG[len(NET):]), names=lambda w: f"{w.p('bad.cfg')}:1",
         expect=("[net]",)),
    Case("cfg/net-only", lambda w: predict(w, model=w.p("bad.cfg")), setup=lambda w: w.write("bad.cfg", NET),
         names=lambda w: w.p("bad.cfg"), expect=("no layers",)),
    Case("cfg/size-not-multiple-of-32", lambda w: ["info", "--model", w.p("bad.cfg")],
         setup=lambda w: w.cfg(text=DET_CFG.replace("width=64", "width=70").replace("height=64", "height=70")),
         names=lambda w: w.p("bad.cfg"), expect=("32",), outcome="warning"),
    Case("cfg/filters-not-matching-region", lambda w: predict(w, model=w.p("bad.cfg")),
         setup=lambda w: w.cfg(old="filters=12", new="filters=11"), names=lambda w: w.p("bad.cfg"),
         expect=("11 filters",)),
    Case("cfg/truncated-line", lambda w: ["info", "--model", w.p("bad.cfg")],
         setup=lambda w: w.write("bad.cfg", DET_CFG[:DET_CFG.index("anchors=") + 3]),
         names=lambda w: f"{w.p('bad.cfg')}:{line_of(DET_CFG, 'anchors=')}", expect=("key=value",)),
    *[Case(f"cfg/anchors-{kind}", lambda w: predict(w, model=w.p("bad.cfg")),
           setup=lambda w, v=value: w.cfg(old="anchors=1,1,2.5,2.5", new=f"anchors={v},1,2.5,2.5"),
           names=lambda w: f"{w.p('bad.cfg')}:{line_of(DET_CFG, 'anchors=')}", expect=("anchors",))
      for kind, value in (("nan", "nan"), ("inf", "inf"), ("negative", "-1"), ("zero", "0"))],
    Case("cfg/channels-0", lambda w: ["info", "--model", w.p("bad.cfg")],
         setup=lambda w: w.cfg(old="channels=3", new="channels=0"), names=lambda w: w.p("bad.cfg"),
         expect=("channels",)),
    Case("cfg/channels-1-with-rgb-input", lambda w: predict(w, model=w.p("bad.cfg")),
         setup=lambda w: w.cfg(old="channels=3", new="channels=1"), names=lambda w: w.p("bad.cfg"),
         expect=("channels",)),
    Case("cfg/detector-without-region", lambda w: predict(w, model=w.p("bad.cfg")),
         setup=lambda w: w.write("bad.cfg", DET_CFG[:DET_CFG.index("[region]")]), names=lambda w: w.p("bad.cfg"),
         expect=("region",)),
    Case("cfg/is-a-directory", lambda w: ["info", "--model", w.p("dir.cfg")], setup=lambda w: w.p("dir.cfg").mkdir(),
         names=lambda w: w.p("dir.cfg"), expect=("not a cfg file",)),
    Case("cfg/duplicate-key-warns", lambda w: ["info", "--model", w.p("bad.cfg"), "--imgsz", "64"],
         setup=lambda w: w.cfg(old="filters=12\n", new="filters=12\nfilters=99\n"),
         names=lambda w: f"{w.p('bad.cfg')}:{line_of(DET_CFG, 'filters=12') + 1}", expect=("filters",),
         outcome="warning"),

    # ---------------------------------------------------------------- darknet .weights
    Case("weights/truncated", lambda w: predict(w, weights=w.p("nano.weights")),
         setup=lambda w: w.write("nano.weights", w.a.weights.read_bytes()[:-4]), names=lambda w: w.p("nano.weights"),
         expect=("too short",)),
    Case("weights/too-long-keeps-output", lambda w: ["convert", "--model", NANO, "--weights", w.p("nano.weights"),
                                                     "-o", w.p("out.pt")],
         setup=lambda w: (w.write("nano.weights", w.a.weights.read_bytes() + b"\0\0\0\0"),
                          w.write("out.pt", b"an earlier output, to be kept")),
         names=lambda w: w.p("nano.weights"), expect=("too long",)),
    Case("weights/header-only", lambda w: ["info", "--model", NANO, "--weights", w.p("h.weights")],
         setup=lambda w: w.write("h.weights", w.a.weights.read_bytes()[:10]), names=lambda w: w.p("h.weights"),
         expect=("truncated",)),
    Case("weights/empty", lambda w: val(w, w.voc(), "--weights", w.p("e.weights")),
         setup=lambda w: w.write("e.weights", b""), names=lambda w: w.p("e.weights"), expect=("truncated",)),
    Case("weights/directory", lambda w: predict(w, weights=w.p("d.weights")),
         setup=lambda w: w.p("d.weights").mkdir(), names=lambda w: w.p("d.weights"), expect=("not a weights file",)),
    Case("weights/wrong-header", lambda w: ["benchmark", "--model", w.a.det_cfg, "--weights", w.p("x.weights"),
                                            "--imgsz", "64", "--iters", "1"],
         setup=lambda w: w.write("x.weights", b"\xff" * 12 + w.a.det_weights.read_bytes()[12:]),
         names=lambda w: w.p("x.weights"), expect=("bytes",)),
    Case("weights/other-network", lambda w: ["export", "--model", w.a.det_cfg, "--weights", w.a.weights,
                                             "--imgsz", "64", "-o", w.p("out.onnx")],
         names=lambda w: w.a.weights, expect=("too long",)),
    Case("weights/as-model", lambda w: predict(w, model=w.a.weights, weights=None), names=lambda w: w.a.weights,
         expect=("no architecture",)),
    Case("weights/jpeg-as-weights", lambda w: ["info", "--model", NANO, "--weights", w.a.image],
         names=lambda w: w.a.image, expect=("too short",)),
    Case("weights/no-prefix-fits", lambda w: train_cls(w, w.imagefolder(), "--weights", w.a.weights),
         names=lambda w: w.a.weights, expect=("prefix",)),

    # ---------------------------------------------------------------- .pt checkpoints
    Case("pt/empty", lambda w: predict(w, model=w.p("x.pt")), setup=lambda w: w.write("x.pt", b""),
         names=lambda w: w.p("x.pt"), expect=("empty",)),
    Case("pt/random-bytes", lambda w: ["info", "--model", w.p("x.pt")],
         setup=lambda w: w.write("x.pt", bytes((i * 37 + 11) % 256 for i in range(4096))),
         names=lambda w: w.p("x.pt"), expect=("checkpoint",), forbid=("pickled",)),
    Case("pt/text-file", lambda w: ["convert", "--model", NANO, "--weights", w.p("x.pt"), "-o", w.p("out.weights")],
         setup=lambda w: w.write("x.pt", "epoch 3: loss 0.5\n"), names=lambda w: w.p("x.pt"),
         expect=("not a checkpoint",)),
    Case("pt/zip-not-torch", lambda w: ["export", "--model", w.p("x.pt"), "-o", w.p("out.onnx")],
         setup=lambda w: zipfile.ZipFile(w.p("x.pt"), "w").close(), names=lambda w: w.p("x.pt"),
         expect=("zip",)),
    Case("pt/truncated", lambda w: predict(w, model=w.p("x.pt")),
         setup=lambda w: w.write("x.pt", w.a.pt.read_bytes()[:200_000]), names=lambda w: w.p("x.pt"),
         expect=("checkpoint",), forbid=("neither a torch zip archive",)),
    Case("pt/foreign-torch-file", lambda w: predict(w, weights=w.p("x.pt")),
         setup=lambda w: torch_save({"state_dict": {"w": torch.zeros(3)}}, w.p("x.pt")),
         names=lambda w: w.p("x.pt"), expect=("not a yolo9000 checkpoint",)),
    Case("pt/other-model", lambda w: predict(w, model=w.a.det_cfg, weights=w.a.pt), names=lambda w: w.a.pt,
         expect=("different network",)),
    Case("pt/unsafe-pickle", lambda w: ["info", "--model", w.p("evil.pt")],
         setup=lambda w: w.write("evil.pt", pickle.dumps(_RunsCode(w.p("PWNED")), protocol=2)),
         names=lambda w: w.p("evil.pt"), expect=("not a yolo9000 checkpoint", "could run code"),
         forbid=("Warning",), post=absent("PWNED")),
    Case("pt/torch-file-with-code", lambda w: train(w, w.voc(), "--weights", w.p("evil.pt")),
         setup=lambda w: torch_save({"model": _RunsCode(w.p("PWNED"))}, w.p("evil.pt")),
         names=lambda w: w.p("evil.pt"), expect=("could run code",), forbid=("Warning",), post=absent("PWNED")),
    Case("pt/marker-without-cfg", lambda w: predict(w, model=w.p("no-cfg.pt")),
         setup=lambda w: checkpoint_without(w, "cfg"), names=lambda w: w.p("no-cfg.pt"), expect=("cfg",)),
    Case("pt/newer-version", lambda w: ["info", "--model", w.p("newer.pt")], setup=newer_checkpoint,
         names=lambda w: w.p("newer.pt"), expect=("newer",)),
    Case("pt/directory", lambda w: predict(w, model=w.p("x.pt")), setup=lambda w: w.p("x.pt").mkdir(),
         names=lambda w: w.p("x.pt"), expect=("not a checkpoint",)),

    # ---------------------------------------------------------------- images, folders, globs, videos
    Case("images/zero-byte-jpg", lambda w: predict(w, w.p("x.jpg")), setup=lambda w: w.write("x.jpg", b""),
         names=lambda w: w.p("x.jpg"), expect=("not an image",)),
    Case("images/text-named-jpg", lambda w: benchmark(w, "--image", w.p("x.jpg")),
         setup=lambda w: w.write("x.jpg", "this is not a picture\n"), names=lambda w: w.p("x.jpg"),
         expect=("not an image",)),
    Case("images/truncated-jpeg", lambda w: predict(w, w.p("t.jpg")),
         setup=lambda w: w.write("t.jpg", w.a.image.read_bytes()[:200]), names=lambda w: w.p("t.jpg"),
         expect=("corrupt",)),
    Case("images/truncated-png", lambda w: predict(w, w.p("t.png")),
         setup=lambda w: (w.image("full.png"), w.write("t.png", w.p("full.png").read_bytes()[:300])),
         names=lambda w: w.p("t.png"), expect=("corrupt",)),
    Case("images/unsupported-extension", lambda w: predict(w, w.p("x.xyz")), setup=lambda w: w.write("x.xyz", b"abc"),
         names=lambda w: w.p("x.xyz"), expect=("not an image",)),
    Case("images/empty-folder", lambda w: predict(w, w.p("empty")), setup=lambda w: w.p("empty").mkdir(),
         names=lambda w: w.p("empty"), expect=("no images",)),
    Case("images/glob-matches-nothing", lambda w: predict(w, f"{w.p('pics')}/*.gif"),
         setup=lambda w: w.image("pics/a.jpg"), names=lambda w: f"{w.p('pics')}/*.gif", expect=("matches no",)),
    Case("images/corrupt-last-image-no-partial-outputs",
         lambda w: predict(w, w.p("pics"), extra=("--batch", "1", "--save-dir", w.p("out"),
                                                  "--save-json", w.p("dets.json"))),
         setup=lambda w: (w.image("pics/a.jpg", seed=1), w.image("pics/b.jpg", seed=2),
                          w.write("pics/z.jpg", w.a.image.read_bytes()[:200])),
         names=lambda w: w.p("pics/z.jpg"), expect=("corrupt",)),
    Case("images/decompression-bomb-header", lambda w: predict(w, w.p("bomb.png")),
         setup=lambda w: w.write("bomb.png", png_header(60000, 60000)), names=lambda w: w.p("bomb.png"),
         expect=("too large",)),
    Case("images/oversized-header-truncated-body", lambda w: predict(w, w.p("big.png")),
         setup=lambda w: w.write("big.png", png_header(12000, 12000)), names=lambda w: w.p("big.png")),
    Case("images/corrupt-video", lambda w: predict(w, w.p("clip.mp4")),
         setup=lambda w: w.write("clip.mp4", "not a video\n"), names=lambda w: w.p("clip.mp4"),
         expect=("video",)),
    Case("images/save-dir-is-the-input-folder", lambda w: predict(w, w.p("pics"), extra=("--save-dir", w.p("pics"))),
         setup=lambda w: w.image("pics/a.jpg"), names=lambda w: w.p("pics")),
    Case("images/save-dir-is-a-file", lambda w: predict(w, extra=("--save-dir", w.p("notes.txt"))),
         setup=lambda w: w.write("notes.txt", "keep me\n"), names=lambda w: w.p("notes.txt")),
    Case("images/save-json-is-a-folder", lambda w: predict(w, extra=("--save-json", w.p("outdir"))),
         setup=lambda w: w.p("outdir").mkdir(), names=lambda w: w.p("outdir")),
    Case("images/save-json-below-a-file", lambda w: predict(w, extra=("--save-json", w.p("notes.txt/dets.json"))),
         setup=lambda w: w.write("notes.txt", "keep me\n"), names=lambda w: w.p("notes.txt")),
    Case("images/names-file-empty", lambda w: predict(w, extra=("--names", w.p("x.names"))),
         setup=lambda w: w.write("x.names", ""), names=lambda w: w.p("x.names"), expect=("empty",)),
    Case("images/names-file-not-utf8", lambda w: predict(w, extra=("--names", w.p("x.names"))),
         setup=lambda w: w.write("x.names", b"\xff\xfe cat\n"), names=lambda w: w.p("x.names"), expect=("UTF-8",)),

    # ---------------------------------------------------------------- dataset YAML
    Case("yaml/not-yaml", lambda w: ["check-data", w.p("data.yaml")],
         setup=lambda w: w.yaml("path: {raccoon}\nformat: voc\ntrain: [train.txt\n"), names=lambda w: w.p("data.yaml"),
         expect=("YAML",)),
    Case("yaml/a-list", lambda w: val(w, w.p("data.yaml")), setup=lambda w: w.yaml("- raccoon\n- train.txt\n"),
         names=lambda w: w.p("data.yaml"), expect=("mapping",)),
    Case("yaml/empty", lambda w: ["check-data", w.p("data.yaml")], setup=lambda w: w.yaml(""),
         names=lambda w: w.p("data.yaml")),
    Case("yaml/not-utf8", lambda w: val(w, w.p("data.yaml")),
         setup=lambda w: w.write("data.yaml", b"path: \xff\xfe\nformat: voc\n"), names=lambda w: w.p("data.yaml"),
         expect=("UTF-8",)),
    Case("yaml/missing-names", lambda w: anchors(w.p("data.yaml")),
         setup=lambda w: w.yaml("path: {raccoon}\nformat: voc\ntrain: train.txt\n"), names=lambda w: w.p("data.yaml"),
         expect=("names",)),
    Case("yaml/wrong-type", lambda w: train(w, w.p("data.yaml")),
         setup=lambda w: w.yaml("path: {raccoon}\nformat: voc\ntrain: 5\nnames: [raccoon]\n"),
         names=lambda w: w.p("data.yaml"), expect=("'train'",)),
    Case("yaml/path-does-not-exist", lambda w: val(w, w.p("data.yaml")),
         setup=lambda w: w.yaml("path: ../no/such/raccoon\nformat: voc\nval: test.txt\nnames: [raccoon]\n"),
         names=lambda w: w.p("data.yaml"), expect=("does not exist",)),
    Case("yaml/list-file-does-not-exist", lambda w: anchors(w.p("data.yaml")),
         setup=lambda w: w.yaml("path: {raccoon}\nformat: voc\ntrain: nothing.txt\nnames: [raccoon]\n"),
         names=lambda w: w.p("data.yaml"), expect=("nothing.txt",)),
    Case("yaml/nc-not-names-count", lambda w: ["check-data", w.p("data.yaml")],
         setup=lambda w: w.yaml("path: {raccoon}\nformat: voc\ntrain: train.txt\nnames: [raccoon]\nnc: 2\n"),
         names=lambda w: w.p("data.yaml"), expect=("nc",)),
    Case("yaml/classes-not-the-model's", lambda w: val(w, RACCOON_YAML, model=NANO), names=lambda w: RACCOON_YAML,
         expect=("20",)),
    Case("yaml/no-such-split", lambda w: val(w, RACCOON_YAML, "--split", "test"), names=lambda w: RACCOON_YAML,
         expect=("'test'",)),
    Case("yaml/check-data-no-such-split", lambda w: ["check-data", RACCOON_YAML, "--split", "nosuch"],
         names=lambda w: RACCOON_YAML, expect=("'nosuch'",)),

    # ---------------------------------------------------------------- VOC and YOLO records
    Case("voc/malformed-xml", lambda w: val(w, w.voc(b_xml="<annotation><filename>b.jpg</filename")),
         names=lambda w: w.p("voc/annotations/b.xml"), expect=("malformed XML",)),
    Case("voc/box-outside-image", lambda w: anchors(w.voc(b_objects=voc_object("cat", 10, 10, 90, 30))),
         names=lambda w: w.p("voc/annotations/b.xml"), expect=("outside",)),
    Case("voc/inverted-box", lambda w: train(w, w.voc(b_objects=voc_object("cat", 10, 10, 5, 30))),
         names=lambda w: w.p("voc/annotations/b.xml"), expect=("degenerate",)),
    Case("voc/unknown-class", lambda w: val(w, w.voc(b_objects=voc_object("dog", 10, 10, 30, 30))),
         names=lambda w: w.p("voc/annotations/b.xml"), expect=("'dog'",)),
    Case("voc/non-numeric-coordinate", lambda w: train(w, w.voc(b_objects=voc_object("cat", "ten", 10, 30, 30))),
         names=lambda w: w.p("voc/annotations/b.xml"), expect=("numeric",)),
    Case("voc/listed-image-missing", lambda w: val(w, w.p("voc/data.yaml")),
         setup=lambda w: (w.voc(), w.write("voc/list.txt", "a\nb\nc\n")), names=lambda w: w.p("voc/images/c.jpg")),
    Case("voc/zero-byte-image", lambda w: val(w, w.p("voc/data.yaml")),
         setup=lambda w: (w.voc(), w.write("voc/images/b.jpg", b"")), names=lambda w: w.p("voc/images/b.jpg"),
         expect=("not an image",)),
    Case("yolo/wrong-field-count", lambda w: val(w, w.yolo(b_label="0 0.5 0.5 0.2\n")),
         names=lambda w: f"{w.p('yolo/labels/b.txt')}:1", expect=("4 value",)),
    Case("yolo/non-numeric", lambda w: anchors(w.yolo(b_label="0 a 0.5 0.2 0.2\n")),
         names=lambda w: f"{w.p('yolo/labels/b.txt')}:1"),
    Case("yolo/out-of-unit-range", lambda w: train(w, w.yolo(b_label="0 0.5 0.5 1.7 0.2\n")),
         names=lambda w: f"{w.p('yolo/labels/b.txt')}:1", expect=("outside",)),
    Case("yolo/class-id-out-of-range", lambda w: val(w, w.yolo(b_label="3 0.5 0.5 0.2 0.2\n")),
         names=lambda w: f"{w.p('yolo/labels/b.txt')}:1", expect=("class id 3",)),
    Case("yolo/nan-coordinate", lambda w: anchors(w.yolo(b_label="0 nan 0.5 0.2 0.2\n")),
         names=lambda w: f"{w.p('yolo/labels/b.txt')}:1"),

    # ---------------------------------------------------------------- score
    Case("score/dets-not-json", lambda w: score(w), setup=lambda w: score_files(w, raw_dets='[{"image_id": 1,'),
         names=lambda w: w.p("dets.json"), expect=("JSON",)),
    Case("score/gt-a-list", lambda w: score(w), setup=lambda w: score_files(w, gt=[1, 2]),
         names=lambda w: w.p("gt.json"), expect=("COCO",)),
    Case("score/gt-not-utf8", lambda w: score(w), setup=lambda w: score_files(w, gt_bytes=b"\xff\xfe\x00\x01"),
         names=lambda w: w.p("gt.json"), expect=("UTF-8",)),
    Case("score/gt-is-a-folder", lambda w: ["score", "--gt", w.p("gt"), "--dets", w.p("dets.json")],
         setup=lambda w: (score_files(w), w.p("gt").mkdir()), names=lambda w: w.p("gt")),
    Case("score/gt-box-on-unknown-image", lambda w: score(w),
         setup=lambda w: score_files(w, gt={"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [
             {"id": 1, "name": "cat"}], "annotations": [{"id": 1, "image_id": 9, "category_id": 1,
                                                         "bbox": [1, 1, 2, 2]}]}),
         names=lambda w: w.p("gt.json"), expect=("image_id 9",)),
    Case("score/dets-an-object", lambda w: score(w), setup=lambda w: score_files(w, dets={"a": 1}),
         names=lambda w: w.p("dets.json"), expect=("list",)),
    Case("score/dets-missing-keys", lambda w: score(w),
         setup=lambda w: score_files(w, dets=[{"image_id": 1, "category_id": 1, "score": 0.9}]),
         names=lambda w: w.p("dets.json"), expect=("bbox",)),
    Case("score/dets-unknown-category", lambda w: score(w),
         setup=lambda w: score_files(w, dets=[{"image_id": 1, "category_id": 7, "bbox": [5, 5, 20, 20],
                                               "score": 0.9}]),
         names=lambda w: w.p("dets.json"), expect=("category",), outcome="warning"),
    Case("score/dets-nan-box", lambda w: score(w),
         setup=lambda w: score_files(w, raw_dets='[{"image_id": 1, "category_id": 1, "bbox": [NaN, 5, 20, 20], '
                                                 '"score": 0.9}]'),
         names=lambda w: w.p("dets.json"), expect=("bbox",)),
    Case("score/dets-nan-score", lambda w: score(w),
         setup=lambda w: score_files(w, raw_dets='[{"image_id": 1, "category_id": 1, "bbox": [5, 5, 20, 20], '
                                                 '"score": NaN}]'),
         names=lambda w: w.p("dets.json"), expect=("score",)),
    Case("score/iou-out-of-range", lambda w: score(w, "--iou", "1.5"), setup=score_files, expect=("1.5",)),
    Case("score/json-is-a-folder", lambda w: score(w, "--json", w.p("outdir")),
         setup=lambda w: (score_files(w), w.p("outdir").mkdir()), names=lambda w: w.p("outdir")),

    # ---------------------------------------------------------------- outputs of val, convert, benchmark, anchors
    Case("val/save-coco-is-a-folder", lambda w: val(w, w.voc(), "--save-coco", w.p("outdir")),
         setup=lambda w: w.p("outdir").mkdir(), names=lambda w: w.p("outdir")),
    Case("val/save-coco-below-a-file", lambda w: val(w, w.voc(), "--save-coco", w.p("notes.txt/c.json")),
         setup=lambda w: w.write("notes.txt", "keep me\n"), names=lambda w: w.p("notes.txt")),
    Case("val/json-is-a-folder", lambda w: val(w, w.voc(), "--json", w.p("outdir")),
         setup=lambda w: w.p("outdir").mkdir(), names=lambda w: w.p("outdir")),
    Case("val/save-dir-is-a-file", lambda w: val(w, w.voc(), "--save-dir", w.p("notes.txt")),
         setup=lambda w: w.write("notes.txt", "keep me\n"), names=lambda w: w.p("notes.txt")),
    Case("val/save-voc-is-a-file", lambda w: val(w, w.voc(), "--save-voc", w.p("notes.txt")),
         setup=lambda w: w.write("notes.txt", "keep me\n"), names=lambda w: w.p("notes.txt")),
    Case("convert/output-below-a-file", lambda w: ["convert", "--model", NANO, "-o", w.p("notes.txt/x.pt")],
         setup=lambda w: w.write("notes.txt", "keep me\n"), names=lambda w: w.p("notes.txt")),
    Case("benchmark/json-is-a-folder", lambda w: benchmark(w, "--json", w.p("outdir")),
         setup=lambda w: w.p("outdir").mkdir(), names=lambda w: w.p("outdir")),
    Case("anchors/json-is-a-folder", lambda w: anchors(w.voc(), "--json", w.p("outdir")),
         setup=lambda w: w.p("outdir").mkdir(), names=lambda w: w.p("outdir")),

    # ---------------------------------------------------------------- numeric options the program checks
    Case("options/predict-conf-2", lambda w: predict(w, extra=("--conf", "2")), expect=("--conf 2",)),
    Case("options/predict-nms-0", lambda w: predict(w, extra=("--nms", "0")), expect=("--nms 0",)),
    Case("options/predict-negative-batch", lambda w: predict(w, extra=("--batch", "-1")), expect=("--batch -1",)),
    Case("options/predict-tree-depth-flat-model", lambda w: predict(w, extra=("--tree-depth", "2")),
         expect=("WordTree",)),
    Case("options/predict-hier-flat-model", lambda w: predict(w, extra=("--hier", "0.3")), expect=("hier",),
         outcome="error"),
    Case("options/predict-device-bogus", lambda w: predict(w, extra=("--device", "bogus")), expect=("bogus",)),
    Case("options/predict-device-cuda-without-gpu", lambda w: predict(w, extra=("--device", "cuda")),
         expect=("cuda",), skip="this machine has CUDA" if HAS_CUDA else None),
    Case("options/predict-fp16-on-cpu", lambda w: predict(w, extra=("--precision", "fp16")), expect=("fp16",),
         skip="this machine has CUDA" if HAS_CUDA else None),
    Case("options/val-imgsz-100", lambda w: val(w, w.voc(), "--imgsz", "100"), expect=("--imgsz 100",)),
    Case("options/val-iou-2", lambda w: val(w, w.voc(), "--iou", "2"), expect=("2",)),
    Case("options/val-batch-0", lambda w: val(w, w.voc(), "--batch", "0"), expect=("--batch 0",)),
    Case("options/info-imgsz-negative", lambda w: ["info", "--model", NANO, "--imgsz", "-32"], expect=("-32",)),
    Case("options/info-imgsz-100", lambda w: ["info", "--model", NANO, "--imgsz", "100"], expect=("100",)),
    Case("options/info-imgsz-2-pow-70", lambda w: ["info", "--model", NANO, "--imgsz", str(2**70)],
         expect=("up to 8192",)),
    Case("options/train-imgsz-1048576", lambda w: train(w, w.voc(), "--imgsz", "1048576"), expect=("up to 8192",)),
    Case("options/export-imgsz-100", lambda w: ["export", "--model", w.a.det_cfg, "--imgsz", "100",
                                                "-o", w.p("x.onnx")], expect=("--imgsz 100",)),
    Case("options/export-opset-5", lambda w: ["export", "--model", w.a.det_cfg, "--imgsz", "64", "--opset", "5",
                                              "-o", w.p("x.onnx")], expect=("opset",)),
    Case("options/benchmark-iters-0", lambda w: benchmark(w, "--iters", "0"), expect=("--iters 0",)),
    Case("options/anchors-imgsz-100", lambda w: anchors(w.voc(), "--imgsz", "100"), expect=("100",)),
    Case("options/anchors-k-0", lambda w: anchors(w.voc(), "-k", "0"), expect=("k",)),
    Case("options/train-imgsz-100", lambda w: train(w, w.voc(), "--imgsz", "100"), expect=("100",)),
    Case("options/train-batch-0", lambda w: train(w, w.voc(), "--batch", "0"), expect=("batch",)),
    Case("options/train-subdivisions-0", lambda w: train(w, w.voc(), "--subdivisions", "0"),
         expect=("subdivisions",)),
    Case("options/train-negative-lr", lambda w: train(w, w.voc(), "--lr", "-1"), expect=("lr",)),
    Case("options/train-epochs-0", lambda w: train(w, w.voc(), "--epochs", "0"), expect=("epochs",)),
    Case("options/train-negative-workers", lambda w: train(w, w.voc(), "--workers", "-1"), expect=("workers",)),
    Case("options/train-jitter-5", lambda w: train(w, w.voc(), "--jitter", "5"), expect=("jitter",)),
    Case("options/train-bad-val-split", lambda w: train(w, w.voc(), "--val-split", "test"), expect=("'test'",),
         names=lambda w: w.p("voc/data.yaml")),
    Case("options/train-resume-nothing", lambda w: train(w, w.voc(), "--resume"), expect=("resume",)),
    Case("options/train-project-is-a-file", lambda w: train(w, w.voc())[:-2] + ["--project", w.p("notes.txt")],
         setup=lambda w: w.write("notes.txt", "keep me\n"), names=lambda w: w.p("notes.txt")),
    Case("options/train-classifier-batch-0", lambda w: train_cls(w, w.imagefolder(), "--batch", "0"),
         expect=("batch",)),
    Case("options/train-classifier-subdivisions-0", lambda w: train_cls(w, w.imagefolder(), "--subdivisions", "0"),
         expect=("subdivisions",)),
    Case("options/train-classifier-epochs-0", lambda w: train_cls(w, w.imagefolder(), "--epochs", "0"),
         expect=("epochs",)),
    Case("options/train-classifier-min-scale-5", lambda w: train_cls(w, w.imagefolder(), "--min-scale", "5"),
         expect=("min-scale",)),
    Case("options/train-classifier-detector-model", lambda w: train_cls(w, w.imagefolder(), "--model", NANO),
         expect=("detector",)),
    Case("options/train-joint-subdivisions-0", lambda w: joint(w, w.voc(), w.wnid_folder(), "--subdivisions", "0"),
         expect=("subdivisions",)),

    # ---------------------------------------------------------------- training inputs found bad after the start
    Case("train-classifier/zero-byte-image",
         lambda w: train_cls(w, w.imagefolder(bad="train/a/zero.jpg"), "--batch", "3"),
         names=lambda w: w.p("cls/train/a/zero.jpg")),
    Case("train-classifier/val-classes-differ", lambda w: train_cls(w, w.p("cls")),
         setup=lambda w: (w.imagefolder(), w.image("cls/val/c/0.png", (40, 40))), names=lambda w: w.p("cls/val")),
    Case("train-joint/class-folder-missing", lambda w: joint(w, w.voc(), w.p("nocls")), names=lambda w: w.p("nocls")),
    Case("train-joint/bad-det-map", lambda w: joint(w, w.voc(), w.wnid_folder())[:-2] + [
        "--det-map", w.p("bad.map"), "--project", w.p("runs")],
         setup=lambda w: w.write("bad.map", "x\n"), names=lambda w: f"{w.p('bad.map')}:1"),

    # ---------------------------------------------------------------- shapes (writes only)
    Case("shapes/out-is-a-file", lambda w: ["shapes", "--out", w.p("notes.txt"), "--train", "2", "--val", "1"],
         setup=lambda w: w.write("notes.txt", "keep me\n"), names=lambda w: w.p("notes.txt")),
    Case("shapes/out-below-a-file", lambda w: ["shapes", "--out", w.p("notes.txt/set"), "--train", "2", "--val", "1"],
         setup=lambda w: w.write("notes.txt", "keep me\n"), names=lambda w: w.p("notes.txt")),
    Case("shapes/foreign-folder", lambda w: ["shapes", "--out", w.p("mine"), "--train", "2", "--val", "1"],
         setup=lambda w: w.write("mine/notes.txt", "keep me\n"), names=lambda w: w.p("mine")),
    Case("shapes/unknown-shape", lambda w: ["shapes", "--out", w.p("set"), "--classes", "circle,blob"],
         expect=("blob",)),
    Case("shapes/size-8", lambda w: ["shapes", "--out", w.p("set"), "--size", "8"], expect=("size",)),

    # ---------------------------------------------------------------- WordTree files
    Case("wordtree/info-binary", lambda w: ["wordtree", "info", w.p("x.tree")],
         setup=lambda w: w.write("x.tree", b"\xff\xfe\x00\x01 -1\n"), names=lambda w: w.p("x.tree")),
    Case("wordtree/info-bad-parent", lambda w: ["wordtree", "info", w.p("x.tree")],
         setup=lambda w: w.write("x.tree", "n00000001 -1\nn00000002 5\n"), names=lambda w: f"{w.p('x.tree')}:2",
         expect=("parent",)),
    Case("wordtree/info-names-count", lambda w: ["wordtree", "info", w.a.tree, "--names", w.p("x.names")],
         setup=lambda w: w.write("x.names", "only one\n"), names=lambda w: w.p("x.names")),
    Case("wordtree/build-bad-wnid-line", lambda w: ["wordtree", "build", "--wnids", w.p("ids.txt"), "--wordnet",
                                                    w.a.wordnet, "-o", w.p("t.tree")],
         setup=lambda w: w.write("ids.txt", "n02084071\ndog\n"), names=lambda w: f"{w.p('ids.txt')}:2"),
    Case("wordtree/build-unknown-wnid", lambda w: ["wordtree", "build", "--wnids", w.p("ids.txt"), "--wordnet",
                                                   w.a.wordnet, "-o", w.p("t.tree")],
         setup=lambda w: w.write("ids.txt", "n09999999\n"), names=lambda w: f"{w.p('ids.txt')}:1",
         forbid=("expected n + 8 digits",)),
    Case("wordtree/build-output-is-a-folder", lambda w: ["wordtree", "build", "--wnids", w.p("ids.txt"), "--wordnet",
                                                         w.a.wordnet, "-o", w.p("outdir")],
         setup=lambda w: (w.write("ids.txt", "n02084071\n"), w.p("outdir").mkdir()), names=lambda w: w.p("outdir")),
]

# ------------------------------------------------------------------------------------------ known defects
# id -> diagnosis. Each of these cases breaks the contract today (see the module docstring).
# Line numbers are those of the working tree when the table was written.
DEFECTS: dict[str, str] = {
    # tracebacks
    # a run folder or other output left behind by a failed run
    # silent garbage: exit 0 where the input is wrong
    # more than one line, or output before the error
    # wrong or misleading message
}


def params(cases: Sequence[Case], defects: dict[str, str] | None = None) -> list[Any]:
    """The cases as pytest params (ids unique; a known defect marked strict xfail). Sibling tables use it too."""
    defects = defects or {}
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert set(defects) <= set(ids), set(defects) - set(ids)
    out = []
    for c in cases:
        marks = []
        if c.id in defects:
            marks.append(pytest.mark.xfail(strict=True, reason=f"defect: {defects[c.id]}"))
        if c.skip:
            marks.append(pytest.mark.skip(reason=c.skip))
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


# ------------------------------------------------------------------------------------------ running a case
def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """Python's own warning display (pytest records warnings instead; the installed command prints them)."""
    (file or sys.stderr).write(warnings.formatwarning(message, category, filename, lineno, line))


def run_cli(argv: Sequence[Any], capfd) -> tuple[int, str, str]:
    """``yolo9000 ARGV`` in-process: (exit code, stdout, stderr). A traceback fails the test with its tail."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        # pytest resets the filters of each test; restore the one yolo9000.predict.sources installs at import
        warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
        warnings.showwarning = _print_warning
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as e:  # argparse: a usage error, not what this table is about
            out, err = capfd.readouterr()
            pytest.fail(f"argparse refused the command line (exit {e.code}); the table is for file and content "
                        f"errors:\n{err}")
        except Exception as e:  # noqa: BLE001 - the defect this table exists to catch
            out, err = capfd.readouterr()
            tb = traceback.format_exception(e)
            pytest.fail(f"traceback instead of one line: {type(e).__name__}: {e}\n"
                        + "".join(tb[-4:]) + (f"\nstderr: {err}" if err else ""))
    out, err = capfd.readouterr()
    return rc, out, err


def _stderr_lines(err: str) -> list[str]:
    """Non-empty lines, each as a terminal shows it (the text after the last carriage return)."""
    lines = [line.rsplit("\r", 1)[-1].rstrip() for line in err.splitlines()]
    return [line for line in lines if line.strip()]


def _snapshot(root: Path, hash_limit: int = 1 << 20) -> dict[str, tuple]:
    """Every path under ``root``: folders, and files by size and content hash (size and mtime when big)."""
    snap: dict[str, tuple] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            snap[rel] = ("link", os.readlink(p))
        elif p.is_fifo() or p.is_char_device() or p.is_socket():
            snap[rel] = ("node", stat.S_IFMT(p.lstat().st_mode))
        elif p.is_dir():
            snap[rel] = ("dir",)
        else:
            st = p.stat()
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if st.st_size <= hash_limit else st.st_mtime_ns
            snap[rel] = ("file", st.st_size, digest)
    return snap


def _raccoon_listing() -> set[str]:
    return {f"{d.name}/{n}" for d in (RACCOON, RACCOON / "images", RACCOON / "annotations") if d.is_dir()
            for n in os.listdir(d)}


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    from fnmatch import fnmatch

    return any(fnmatch(rel, pat) or rel.startswith(pat.rstrip("*").rstrip("/") + "/") for pat in patterns)


@pytest.mark.parametrize("case", params(CASES, DEFECTS))
def test_bad_input(case: Case, assets: Assets, tmp_path: Path, monkeypatch, capfd) -> None:
    run_case(case, assets, tmp_path, monkeypatch, capfd)


def run_case(case: Case, assets: Assets, tmp_path: Path, monkeypatch, capfd) -> None:  # noqa: ANN001
    """Run one case and check its contract: exit code, the one line, and the disk afterwards."""
    work = tmp_path / "case"
    work.mkdir()
    monkeypatch.chdir(work)
    w = W(work, assets)
    if case.setup is not None:
        case.setup(w)
    argv = list(case.argv(w))  # may write its inputs too (w.voc(), w.imagefolder(), ...)
    capfd.readouterr()
    before, assets_before, raccoon_before = _snapshot(work), _snapshot(assets.root), _raccoon_listing()

    rc, out, err = run_cli(argv, capfd)

    shown = f"yolo9000 {' '.join(map(str, argv))}\nexit {rc}\nstdout: {out!r}\nstderr: {err!r}"
    assert "Traceback" not in err, shown
    lines = _stderr_lines(err)
    outcome = case.outcome
    if outcome == "error-or-warning":
        outcome = "warning" if rc == 0 else "error"
    line = ""
    if outcome == "ok":
        assert rc == 0, shown
        assert not [x for x in lines if x.startswith("yolo9000: ")], f"expected no error or warning\n{shown}"
    elif outcome == "error":
        assert rc == 2, shown
        assert len(lines) == 1, f"expected exactly one line on stderr\n{shown}"
        line = lines[0]
        assert line.startswith("yolo9000: error: "), shown
        assert out == "", f"nothing may reach stdout before the error\n{shown}"
    else:
        assert rc == 0, shown
        warns = [x for x in lines if x.startswith("yolo9000: warning: ")]
        others = [x for x in lines if not x.startswith("yolo9000: ") and not x.startswith(("1 image", "wrote "))]
        assert len(warns) == 1 and not others, f"expected one 'yolo9000: warning:' line\n{shown}"
        line = warns[0]
    if case.names is not None:
        assert str(case.names(w)) in line, f"the message must name {case.names(w)}\n{shown}"
    for needle in case.expect:
        assert needle in line, f"{needle!r} missing from the message\n{shown}"
    for needle in case.forbid:
        assert needle not in line, f"{needle!r} must not be in the message\n{shown}"

    # the disk: nothing created (no output, no folder, no temporary), nothing changed or removed
    after = _snapshot(work)
    changed = sorted(k for k in before if k in after and after[k] != before[k])
    removed = sorted(k for k in before if k not in after)
    created = sorted(k for k in after if k not in before and not (outcome != "error" and _matches(k, case.new_ok)))
    assert not changed and not removed, f"inputs changed {changed} / removed {removed}\n{shown}"
    assert not created, f"the failed run left {created}\n{shown}"
    assert not any(k.endswith(".tmp") or ".yolo9000-partial-" in k for k in after), shown
    assert _snapshot(assets.root) == assets_before, "a shared input file was modified"
    assert _raccoon_listing() == raccoon_before, "files appeared in the shared raccoon dataset"
    if case.post is not None:
        case.post(w)


def test_every_subcommand_has_a_missing_input_case() -> None:
    """The missing/ cases walk every subcommand (wordtree's two included); a new subcommand needs one."""
    sub = build_parser()._subparsers._group_actions[0]
    wordtree = sub.choices["wordtree"]._subparsers._group_actions[0]
    commands = (set(sub.choices) - set(SUBCOMMANDS_WITHOUT_INPUT) - {"wordtree"}) | {
        f"wordtree-{c}" for c in wordtree.choices}
    covered = {c.id.split("/", 1)[1] for c in CASES if c.id.startswith("missing/")}
    assert covered == commands, (sorted(commands - covered), sorted(covered - commands))


@pytest.mark.parametrize("argv, words", [
    (["predict", "x.jpg", "--model", NANO, "--imgsz", "abc"], "--imgsz: invalid int value"),
    (["score", "--gt", "g.json", "--dets", "d.json", "--metric", "map50"], "--metric: invalid choice"),
    (["val", "--model", NANO], "--data"),
    (["train", "--epochs", "1.5"], "--epochs: invalid int value"),
    (["export", "--model", NANO, "-o", "x.onnx", "--format", "tflite"], "--format: invalid choice"),
], ids=["int-option", "choice-option", "required-option", "dataclass-int-option", "export-format"])
def test_usage_errors_are_argparse_exit_2(argv: list[str], words: str, capfd) -> None:
    """Usage errors stay argparse's: exit 2, a usage block, and a last line ``yolo9000 <cmd>: error: ...``."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    out, err = capfd.readouterr()
    assert e.value.code == 2 and out == ""
    assert "Traceback" not in err and err.startswith("usage: yolo9000 ")
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"yolo9000 {argv[0]}: error: ") and words in last, err
