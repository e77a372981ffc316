"""The one architectural rule worth enforcing: api/ and core/ never import Qt.

Checked two ways: statically (no import statement names PySide6/qasync) and dynamically (importing
every module of both packages in a fresh interpreter leaves PySide6 out of sys.modules).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("PySide6", "qasync", "shiboken6")


def _modules(pkg: str) -> list[Path]:
    return sorted((ROOT / "kievideo" / pkg).rglob("*.py"))


@pytest.mark.parametrize("pkg", ["api", "core"])
def test_no_qt_import_statements(pkg: str) -> None:
    offenders = []
    for path in _modules(pkg):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] in FORBIDDEN for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"Qt imported from {pkg}/: {offenders}"


def test_importing_api_and_core_loads_no_qt() -> None:
    mods = [
        "kievideo." + str(p.relative_to(ROOT / "kievideo").with_suffix("")).replace("/", ".")
        for pkg in ("api", "core")
        for p in _modules(pkg)
    ]
    mods = [m.removesuffix(".__init__") for m in mods]
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert len(mods) >= 2
