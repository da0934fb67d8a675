"""The map in docs/architecture.md names files that exist, and ``worker.py`` (a module,
which import-linter cannot name) imports no ``api`` and no ``cli``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_file_the_architecture_map_names_exists() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"`([a-z_/]+\.py)`", text))
    assert len(named) > 40
    missing = sorted(
        name
        for name in named
        if "/" in name and not (ROOT / name).exists() and name != "tests/test_architecture.py"
    )
    assert missing == []


def test_the_worker_imports_neither_the_api_nor_the_cli() -> None:
    tree = ast.parse((ROOT / "worker.py").read_text())
    imported = {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    } | {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert "engine" in imported
    assert not imported & {"api", "cli"}
