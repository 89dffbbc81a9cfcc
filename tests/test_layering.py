"""The layering of ARCHITECTURE.md holds: the import-linter contracts of pyproject.toml are kept.

Runs ``lint-imports`` as ``make test`` and CI do, from the repository root, so
a violating import anywhere in the runtime packages fails the suite with
import-linter's report (which module imports which, on what line).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_the_import_contracts_are_kept() -> None:
    # --no-cache: a cache from another checkout or an older tree must not answer for this one.
    proc = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"lint-imports failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    assert "0 broken" in proc.stdout, proc.stdout
