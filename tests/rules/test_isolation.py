"""The rules package imports nothing of carepath's; sandbox modules read no clock, do no I/O."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import rules

PACKAGE = Path(rules.__file__).parent
SANDBOX_SAFE = ["models.py", "conditions.py", "match.py", "view.py", "durations.py", "errors.py"]


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_rules_imports_only_stdlib_pydantic_and_itself(path: Path) -> None:
    foreign = {
        root
        for root in imported_roots(path)
        if root not in sys.stdlib_module_names and root not in {"pydantic", "rules"}
    }
    assert not foreign, f"{path.name} imports {sorted(foreign)}"


@pytest.mark.parametrize("name", SANDBOX_SAFE)
def test_sandbox_modules_read_no_clock_and_open_nothing(name: str) -> None:
    tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
    forbidden = {"now", "utcnow", "today", "time", "open", "urandom", "random"}
    calls = {
        node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert not calls & forbidden, f"{name} calls {sorted(calls & forbidden)}"
    io_modules = {"os", "io", "socket", "pathlib", "subprocess", "time", "random", "logging"}
    assert not imported_roots(PACKAGE / name) & io_modules
