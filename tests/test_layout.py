"""The package's architecture, checked on its source: the import graph (every ``import`` of the package,
those inside functions and under ``TYPE_CHECKING`` included) has no cycle, points one way (cli -> train /
predict / eval -> models / ops / darknet formats), and the tests mirror the package's folders."""
from __future__ import annotations

import ast
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
    low = ("yolo9000.models", "yolo9000.ops", "yolo9000.darknet", "yolo9000.datasets", "yolo9000.metrics",
           "yolo9000.wordtree")
    high = ("yolo9000.train", "yolo9000.predict", "yolo9000.eval", "yolo9000.cli", "yolo9000.api")
    for m, deps in graph.items():
        if m.startswith(low):
            assert not {d for d in deps if d.startswith(high)}, m
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


def test_the_tests_mirror_the_package() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    tests = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert tests <= packages, tests - packages
    assert {"train", "predict", "eval", "darknet", "models", "ops", "datasets", "metrics", "wordtree", "anchors",
            "cli"} <= tests


@pytest.mark.parametrize("name", ["YOLO", "Results", "Yolo9000Error", "__version__"])
def test_the_readme_imports_still_work(name: str) -> None:
    import yolo9000
    from yolo9000.anchors import anchors_for_dataset, kmeans_anchors  # noqa: F401
    from yolo9000.eval import evaluate_open_vocab  # noqa: F401
    from yolo9000.train import ClassifyConfig, JointConfig, TrainConfig, train, train_classifier, train_joint  # noqa: F401
    from yolo9000.wordtree import load_label_map  # noqa: F401

    assert hasattr(yolo9000, name)
