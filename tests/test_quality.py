"""Quality gates that run with the test suite: ruff and mypy --strict over the project's code."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_check() -> None:
    result = run_tool("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = run_tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_reads_go_through_store_reading() -> None:
    """``engine.connect()`` would begin a writer's transaction (BEGIN IMMEDIATE on SQLite); package
    code reads through ``ledger.store.reading`` and writes through ``engine.begin()``."""
    packages = ("keys", "ledger", "draw", "publicsite", "verifier")
    paths = [ROOT / "fairdraw.py", *(p for name in packages for p in sorted((ROOT / name).rglob("*.py")))]
    found = []
    for path in paths:
        if path == ROOT / "ledger" / "store.py":  # where reading() itself is defined
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr == "connect" and not node.args and not node.keywords:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert len(paths) > 80 and found == []
