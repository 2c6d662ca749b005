"""Imports flow one way: keys <- ledger <- draw <- publicsite; verifier imports none of them.

The composing module ``fairdraw.py`` may import everything; nothing may import it.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["keys", "ledger", "draw", "publicsite", "verifier"]
ALLOWED = {
    "keys": set(),
    "ledger": {"keys"},
    "draw": {"keys", "ledger"},
    "publicsite": {"keys", "ledger", "draw"},
    "verifier": set(),
}
SERVER_MODULES = {"starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg"}


def imported_top_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules_of(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_flow_one_way(package: str) -> None:
    forbidden = (set(PACKAGES) | {"fairdraw"}) - ALLOWED[package] - {package}
    bad = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules_of(package)
        for name in imported_top_names(path) & forbidden
    }
    assert not bad, sorted(bad)


def test_verifier_imports_no_server_library() -> None:
    bad = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules_of("verifier")
        for name in imported_top_names(path) & SERVER_MODULES
    }
    assert not bad, sorted(bad)


def test_the_walker_sees_imports(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import ledger.tree\nfrom draw import engine\nfrom . import local\n", encoding="utf-8")
    assert imported_top_names(probe) == {"ledger", "draw"}
