"""The architecture as a contract (DESIGN §1): layers point down only, no import cycles, the demo
is imported only by the `demo` command, no module does I/O when imported, modules stay small.

Import-linter cannot see this layout (setuptools maps agent/, collectors/ and reports/ into one
`computewatch` package), so the import graph is read here from the source with `ast`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from tests.helpers.paths import REPO

# Top to bottom; a module may import only from layers below its own (and its own package).
# Packages on one line are independent of each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("app",),
    ("pipeline",),
    ("delivery",),
    ("reports",),
    ("engine", "collectors", "store"),
    ("config",),
    ("domain",),
)
ROOTS = {
    "agent": "computewatch",
    "collectors": "computewatch.collectors",
    "reports": "computewatch.reports",
}
DEMO_IMPORTERS = {"computewatch.app.cli"}  # the `demo` command, lazily
MAX_LINES = 450


@cache
def modules() -> dict[str, Path]:
    out = {}
    for folder, package in ROOTS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = path.relative_to(REPO / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([package, *parts])
            if folder == "agent" and parts and parts[0] in ("collectors", "reports"):
                continue  # never happens: those live in their own folders
            out[name] = path
    return out


def _imports(name: str, path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text("utf-8"))
    is_package = path.name == "__init__.py"
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            submodules = [f"{target}.{a.name}" for a in node.names]
            found = [m for m in submodules if m in modules()]
            yield from found  # `from pkg import module` imports the module
            if len(found) < len(submodules):
                yield target


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except what sits under `if TYPE_CHECKING:` (never imported at run time)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test).endswith("TYPE_CHECKING"):
                todo.extend(child.orelse)
                continue
            todo.append(child)


@cache
def graph() -> dict[str, set[str]]:
    known = modules()
    out: dict[str, set[str]] = {}
    for name, path in known.items():
        deps = set()
        for target in _imports(name, path):
            # resolve to the longest known module prefix
            parts = target.split(".")
            while parts and ".".join(parts) not in known:
                parts.pop()
            if parts and ".".join(parts) != name:
                deps.add(".".join(parts))
        out[name] = deps
    return out


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of(package: str) -> int | None:
    for i, names in enumerate(LAYERS):
        if package in names:
            return i
    return None


def test_every_module_belongs_to_a_layer() -> None:
    unplaced = {
        m
        for m in modules()
        if m != "computewatch" and package_of(m) != "demo" and layer_of(package_of(m)) is None
    }
    assert not unplaced, f"modules outside every layer: {sorted(unplaced)}"


def test_imports_point_down_only() -> None:
    wrong = []
    for module, deps in graph().items():
        mine = package_of(module)
        for dep in deps:
            theirs = package_of(dep)
            if dep == "computewatch" or theirs == mine:
                continue
            if theirs == "demo":
                if module not in DEMO_IMPORTERS and mine != "demo":
                    wrong.append(f"{module} -> {dep} (only the demo command imports the demo)")
                continue
            if mine == "demo":
                continue  # the demo sits on top: it runs audits like the app does
            a, b = layer_of(mine), layer_of(theirs)
            if a is None or b is None or a >= b:
                wrong.append(f"{module} -> {dep}")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_importing_every_module_does_no_io() -> None:
    """Import everything in a fresh interpreter with an audit hook that records every file opened
    and socket used by our own code (third-party import-time probes are theirs)."""
    names = sorted(modules())
    code = f"""
import importlib, sys
ours = {[str(REPO / d) + "/" for d in ROOTS]!r}
bad = []
def caller():
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith("<"):
        frame = frame.f_back
    return "" if frame is None else frame.f_code.co_filename
def hook(event, args):
    loading = event == "open" and str(args[0]).endswith((".py", ".pyc", ".so"))
    if (event == "open" and not loading) or (
        event.startswith("socket.") and event != "socket.__new__"
    ):
        where = caller()
        if where.startswith(tuple(ours)):
            bad.append(f"{{event}} {{args[0]!r}} from {{where}} while importing {{current[0]}}")
current = [""]
sys.addaudithook(hook)
for name in {names!r}:
    current[0] = name
    importlib.import_module(name)
print("\\n".join(bad))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"I/O at import time: {proc.stdout}"


def test_modules_stay_small() -> None:
    big = {
        str(path.relative_to(REPO)): n
        for path in modules().values()
        if (n := len(path.read_text("utf-8").splitlines())) > MAX_LINES
    }
    assert not big, f"modules over {MAX_LINES} lines (split them by concern): {big}"
