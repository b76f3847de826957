"""The test suite's own structure: helpers live in tests/helpers/, and a test module never imports
another test module (shared fixtures and builders would otherwise hide in test files)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers.paths import REPO

TESTS = REPO / "tests"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_test_modules_do_not_import_each_other() -> None:
    wrong = {}
    for path in sorted(TESTS.rglob("*.py")):
        rel = path.relative_to(REPO)
        for module in _imports(path):
            last = module.rsplit(".", 1)[-1]
            if module.startswith("tests.") and (last.startswith("test_") or last == "conftest"):
                wrong.setdefault(str(rel), []).append(module)
    assert not wrong, f"import from tests/helpers/ instead: {wrong}"


def test_modules_outside_helpers_are_tests_or_conftest() -> None:
    stray = [
        str(p.relative_to(REPO))
        for p in TESTS.rglob("*.py")
        if "helpers" not in p.relative_to(TESTS).parts
        and not p.name.startswith("test_")
        and p.name not in ("conftest.py", "__init__.py")
    ]
    assert not stray, f"shared test code belongs in tests/helpers/: {stray}"
