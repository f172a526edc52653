"""The shape of kzld: data flows one way through the stages, with no import cycle, and
no class or function is longer than a reader can hold in mind."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kzld"

# Earlier stages never import later ones. The foundation (errors, dates, the SPARQL lexer, the
# vocabulary) is shared by every stage; the package root is the Python API over all of
# them, and the command line is a shell over that API.
STAGES = {
    "dates": 0,
    "errors": 0,
    "sparql_text": 0,
    "vocabulary": 0,
    "loading": 1,
    "validating": 2,
    "publishing": 3,
    "querying": 4,
    "wikidata": 5,
    "web": 6,
    "": 7,
    "cli": 8,
    "__main__": 9,
}


# The longest a class or function may be, in lines (decorators excluded, nested
# definitions included: a class is as long as all its methods).
LONGEST = 150


def module_name(path: Path, root: Path) -> str:
    """The dotted name of a module file below ``root`` (the package folder)."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package modules it imports, lazy imports in function bodies included."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                    base = f"{base}.{node.module}" if node.module else base
                names = [a.name for a in node.names]
                # The version string is metadata, not code: importing it is no dependency.
                if base == root.name and names == ["__version__"]:
                    continue
                for alias in names:
                    targets.add(f"{base}.{alias}" if f"{base}.{alias}" in files else base)
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def stage(module: str) -> int:
    """The stage of a module: where its first name below the package sits in STAGES."""
    parts = module.split(".")
    return STAGES[parts[1] if len(parts) > 1 else ""]


def backward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import from a later stage into an earlier one, as 'importer -> imported'."""
    return sorted(
        f"{source} -> {target}"
        for source, targets in graph.items()
        for target in targets
        if stage(target) > stage(source)
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: each strongly connected group of two or more modules (or one
    that imports itself), found by Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_kzld_imports_flow_one_way():
    graph = import_graph(PACKAGE)
    assert "kzld.loading.graph" in graph and graph["kzld.cli.check"], "the walk found no imports"
    assert backward_imports(graph) == []


def test_kzld_has_no_import_cycle():
    assert cycles(import_graph(PACKAGE)) == []


def test_every_subpackage_has_a_stage():
    for entry in PACKAGE.iterdir():
        if entry.name.startswith(("_", ".")) and entry.name != "__main__.py":
            continue
        if entry.is_dir() or entry.suffix == ".py":
            assert entry.name.removesuffix(".py") in STAGES, entry.name


def too_long(root: Path, longest: int = LONGEST) -> list[str]:
    """Every class and function over ``longest`` lines, as "file:line name (n lines)"."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > longest:
                    where = path.relative_to(root.parent)
                    found.append(f"{where}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_no_class_or_function_is_over_the_limit():
    assert too_long(PACKAGE) == []


def namespace_literals(root: Path, namespaces: set[str]) -> list[str]:
    """String literals outside the vocabulary module that spell out a namespace or an
    IRI in one (also inside <...>): those belong in kzld/vocabulary.py."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "vocabulary.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if any(text.startswith(ns) or f"<{ns}" in text for ns in namespaces):
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno} {text[:60]!r}")
    return found


def test_namespaces_are_spelt_out_only_in_the_vocabulary_module(tmp_path: Path):
    from kzld.vocabulary import PREFIXES

    namespaces = set(PREFIXES.values())
    assert namespace_literals(PACKAGE, namespaces) == []
    (tmp_path / "kzld").mkdir()
    (tmp_path / "kzld" / "stray.py").write_text(
        'A = "http://www.w3.org/2002/07/owl#Class"\nB = f"<http://purl.org/dc/terms/date> {1}"\n'
    )
    assert len(namespace_literals(tmp_path / "kzld", namespaces)) == 2


def test_the_length_check_finds_a_long_method_and_its_class(tmp_path: Path):
    body = "".join(f"        x{i} = {i}\n" for i in range(LONGEST))
    (tmp_path / "kzld").mkdir()
    (tmp_path / "kzld" / "long.py").write_text(f"class Engine:\n    def run(self):\n{body}")
    assert too_long(tmp_path / "kzld") == [
        f"kzld/long.py:1 Engine ({LONGEST + 2} lines)",
        f"kzld/long.py:2 run ({LONGEST + 1} lines)",
    ]
    assert too_long(tmp_path / "kzld", longest=LONGEST + 2) == []


# --- the checker checks: a synthetic package with a backward import and a cycle -----------


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    """A package laid out like kzld whose load stage reaches into publish, lazily."""
    root = tmp_path / "kzld"
    for folder in ("loading", "publishing", "web"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text('"""A stage."""\n')
    (root / "__init__.py").write_text("__version__ = '0'\n")
    (root / "errors.py").write_text("from kzld import __version__\n")
    (root / "loading" / "graph.py").write_text(
        "from kzld.errors import x\n\ndef load():\n    from kzld.publishing.jsonld import check\n"
    )
    (root / "publishing" / "jsonld.py").write_text("from ..loading import graph\n")
    (root / "web" / "site.py").write_text("def page():\n    from kzld.web import timeline\n")
    (root / "web" / "timeline.py").write_text("from kzld.web.site import Index\n")
    return root


def test_checker_finds_a_lazy_backward_import(synthetic: Path):
    graph = import_graph(synthetic)
    assert graph["kzld.loading.graph"] == {"kzld.errors", "kzld.publishing.jsonld"}
    assert graph["kzld.errors"] == set()  # the version import is no dependency
    assert backward_imports(graph) == ["kzld.loading.graph -> kzld.publishing.jsonld"]


def test_checker_finds_cycles(synthetic: Path):
    assert cycles(import_graph(synthetic)) == [
        ["kzld.loading.graph", "kzld.publishing.jsonld"],
        ["kzld.web.site", "kzld.web.timeline"],
    ]


def test_checker_passes_a_one_way_map():
    graph = {
        "kzld.loading.graph": {"kzld.errors"},
        "kzld.errors": set(),
        "kzld.cli": {"kzld.loading.graph"},
    }
    assert backward_imports(graph) == [] and cycles(graph) == []
