"""The package's architecture, checked on its source: the import graph (every ``import`` of the package,
those inside functions and under ``TYPE_CHECKING`` included) has no cycle, points one way (cli -> train /
predict / eval -> checkpoints -> darknet formats -> models / ops), and the tests mirror the package's folders."""
from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "yolo9000"


def _modules() -> dict[str, Path]:
    """Dotted module name -> its file (a package is its ``__init__.py``)."""
    out = {}
    for p in sorted(PACKAGE.rglob("*.py")):
        parts = list(p.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports, wherever the import statement is. ``from a.b import c``
    is an edge to ``a.b.c`` when that is a module, else to ``a.b``; importing a package is an edge to its
    ``__init__``."""
    mods = _modules()

    def owner(name: str) -> str:
        while name not in mods:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                graph[mod] |= {owner(a.name) for a in node.names if a.name.split(".")[0] == "yolo9000"}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                if base.split(".")[0] != "yolo9000":
                    continue
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    graph[mod].add(sub if sub in mods else owner(base))
        graph[mod].discard(mod)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_the_cycle_finder_finds_cycles() -> None:
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(g) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 60 and "yolo9000.train.engine" in graph
    assert cycles(graph) == []


def _importers(graph: dict[str, set[str]], target: str) -> set[str]:
    return {m for m, deps in graph.items() if any(d == target or d.startswith(target + ".") for d in deps)}


def test_the_dependencies_point_one_way() -> None:
    graph = import_graph()
    # nothing outside cli/ imports the command line; only the package root and cli/ use the YOLO facade
    assert {m for m in _importers(graph, "yolo9000.cli") if not m.startswith("yolo9000.cli")} <= {"yolo9000.__main__"}
    assert _importers(graph, "yolo9000.api") <= {"yolo9000", "yolo9000.cli.app"}
    # nothing imports the package root (the facade's re-exports), so every module can be imported alone
    assert not _importers(graph, "yolo9000") - {m for m, d in graph.items() if "yolo9000" not in d}
    assert not any("yolo9000" in deps for deps in graph.values())
    # the layers below training and prediction know nothing of them
    low = ("yolo9000.checkpoints", "yolo9000.models", "yolo9000.ops", "yolo9000.darknet", "yolo9000.datasets",
           "yolo9000.metrics", "yolo9000.wordtree")
    high = ("yolo9000.train", "yolo9000.predict", "yolo9000.eval", "yolo9000.cli", "yolo9000.api")
    for m, deps in graph.items():
        if m.startswith(low):
            assert not {d for d in deps if d.startswith(high)}, m
    # networks from files (checkpoints/) -> darknet's files (darknet/) -> the networks (models/), never back
    for m, deps in graph.items():
        if m.startswith("yolo9000.models"):
            assert not {d for d in deps if d.startswith(("yolo9000.darknet", "yolo9000.checkpoints"))}, m
        if m.startswith("yolo9000.darknet"):
            assert not {d for d in deps if d.startswith("yolo9000.checkpoints")}, m
    # evaluation and prediction never train
    for m, deps in graph.items():
        if m.startswith(("yolo9000.predict", "yolo9000.eval")):
            assert not {d for d in deps if d.startswith("yolo9000.train")}, m


def test_no_import_inside_a_function() -> None:
    """The package's own imports are at the top of each module (none hidden in a function to dodge a cycle)."""
    hidden = []
    for mod, path in _modules().items():
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("yolo9000")):
                        hidden.append(f"{mod}:{node.lineno}")
    assert hidden == []


# ----------------------------------------------------------------------------- one way to convert box formats
_COL = r"\[\s*(?::|\.\.\.)\s*,\s*{}\s*\]"  # b[:, k] or b[..., k]
_TERM = r"[\w.]+(?:\[[^\]]*\])?"  # a name, maybe indexed
_HALF = r"/\s*2(?![\w.])"  # "/ 2", not "/ 2.0" nor "/ 20"
#: what a hand-written box format conversion looks like; ops/boxes.py's box_convert is the one place for them
HAND_CONVERSIONS = {
    "a centre from corners, (x1 + x2) / 2": rf"\(\s*{_TERM}\s*\+\s*{_TERM}\s*\)\s*{_HALF}",
    "a corner from a centre, cx - w / 2": rf"[\w\]]\s*[-+]\s*{_TERM}\s*{_HALF}",
    "half a size column, b[:, 2] / 2": rf"{_COL.format('[23]')}\s*{_HALF}",
    "a size from corners, x2 - x1": r"\b([xy])2\s*-\s*\1(?:1\b|\b)",
    "a size from corner columns, b[:, 2] - b[:, 0]": rf"{_COL.format(2)}\s*-\s*[\w.]+{_COL.format(0)}"
                                                    rf"|{_COL.format(3)}\s*-\s*[\w.]+{_COL.format(1)}",
    "sizes from corner slices, b[:, 2:] - b[:, :2]": rf"{_COL.format('2:4?')}\s*-\s*[\w.]+{_COL.format('0?:2')}",
    "a corner from a size, x + w": r"\b[xy]1?\s*\+\s*b?[wh]\b",
    "a corner from size columns, b[:, 0] + b[:, 2]": "|".join(
        rf"{_COL.format(a)}\s*\+\s*[\w.]+{_COL.format(b)}" for a, b in ((0, 2), (2, 0), (1, 3), (3, 1))),
    "corners from size slices, b[:, :2] + b[:, 2:]": rf"{_COL.format('0?:2')}\s*\+\s*[\w.]+{_COL.format('2:4?')}",
    "torchvision's box_convert": r"torchvision\.ops\.box_convert|from\s+torchvision\.ops\s+import\b.*\bbox_convert\b",
    "a converter of its own": r"\bdef\s+\w*(?:xyxy|xywh|cxcywh)_to_(?:xyxy|xywh|cxcywh)\w*\s*\(",
}
#: where hand arithmetic on box columns stays: file (below the package) -> functions (None: the whole file)
CONVERSIONS_ALLOWED: dict[str, set[str] | None] = {
    "ops/boxes.py": None,  # box_convert's helpers, and darknet's box_iou, operation for operation
    # the metrics' IoUs follow voc_eval's "+1" widths and pycocotools' bbIou to the last bit (ops/boxes.py says why)
    "metrics/voc.py": {"_iou_broadcast"},
    "metrics/coco.py": {"_bb_iou"},
}


def code_lines(source: str) -> list[str]:
    """The source's lines with every string (docstrings, f-strings) and comment blanked to spaces, so that
    prose about boxes is not taken for arithmetic."""
    lines = source.splitlines()
    chars = [list(line) for line in lines]
    blank = {tokenize.STRING, tokenize.COMMENT} | {getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in blank:
            continue
        (r0, c0), (r1, c1) = tok.start, tok.end
        for r in range(r0, r1 + 1):
            row = chars[r - 1]
            for c in range(c0 if r == r0 else 0, c1 if r == r1 else len(row)):
                row[c] = " "
    return ["".join(row) for row in chars]


def hand_conversions(source: str, allowed_functions: set[str] | None = frozenset()) -> list[tuple[int, str]]:
    """(line, what) of each hand-written box format conversion in ``source``, outside ``allowed_functions``
    (None: all allowed)."""
    if allowed_functions is None:
        return []
    allowed_lines = set()
    for fn in ast.walk(ast.parse(source)):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.name in allowed_functions:
            allowed_lines |= set(range(fn.lineno, (fn.end_lineno or fn.lineno) + 1))
    found = []
    for i, line in enumerate(code_lines(source), 1):
        if i in allowed_lines:
            continue
        found += [(i, what) for what, pattern in HAND_CONVERSIONS.items() if re.search(pattern, line)]
    return found


@pytest.mark.parametrize("code", [
    "xyxy = ((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h)",
    "out = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, bw, bh], 1)",
    "half_w, half_h = b[..., 2] / 2, b[..., 3] / 2",
    "bw, bh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]",
    "cx, cy, bw, bh = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1",
    "boxes.append(np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1))",
    "return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)",
    "box = RawBox((x, y, x + w, y + h), where=where)",
    "return torchvision.ops.box_convert(boxes_cxcywh, 'cxcywh', 'xyxy')",
    "from torchvision.ops import box_convert, complete_box_iou_loss",
    "def cxcywh_to_xyxy(boxes_cxcywh):\n    return boxes_cxcywh",
])
def test_the_conversion_check_finds_hand_conversions(code: str) -> None:
    """Each conversion the package used to write by hand (issue 23) is one the check catches."""
    assert hand_conversions(code)


@pytest.mark.parametrize("code", [
    "x = box_convert(b, 'xyxy', 'cxcywh')",
    "dx, dy = (net_w - new_w) // 2, (net_h - new_h) // 2",
    "off_x = (net_w - new_w) / 2.0 / net_w",
    "start = -math.pi / 2",
    "centre = n / 2 + rng.uniform(-0.5, 0.5, 2)",
    'msg = f"widths x2 - x1 instead of x2 - x1 + 1"  # x + w',
    '"""A box ``(cx - w / 2, ...)``."""',
    "d = decay * (1 - math.exp(-float(n) / 2000))",
])
def test_the_conversion_check_leaves_other_arithmetic_alone(code: str) -> None:
    assert hand_conversions(code) == []


def test_only_ops_boxes_converts_box_formats() -> None:
    """Box formats are converted in one place, :func:`yolo9000.ops.boxes.box_convert` (issue 23): no other
    module of the package writes the arithmetic of a conversion by hand."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        allowed = CONVERSIONS_ALLOWED.get(rel, frozenset())
        found += [f"{rel}:{line}: {what}" for line, what in hand_conversions(path.read_text(), allowed)]
    assert found == [], "convert box formats with yolo9000.ops.boxes.box_convert:\n" + "\n".join(found)


def test_the_tests_mirror_the_package() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    tests = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert tests <= packages, tests - packages
    assert {"train", "predict", "eval", "checkpoints", "darknet", "models", "ops", "datasets", "metrics", "wordtree",
            "anchors", "cli"} <= tests


@pytest.mark.parametrize("name", ["YOLO", "Results", "Yolo9000Error", "__version__"])
def test_the_readme_imports_still_work(name: str) -> None:
    import yolo9000
    from yolo9000.anchors import anchors_for_dataset, kmeans_anchors  # noqa: F401
    from yolo9000.eval import evaluate_open_vocab  # noqa: F401
    from yolo9000.train import ClassifyConfig, JointConfig, TrainConfig, train, train_classifier, train_joint  # noqa: F401
    from yolo9000.wordtree import load_label_map  # noqa: F401

    assert hasattr(yolo9000, name)
