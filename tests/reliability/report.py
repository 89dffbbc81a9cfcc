"""The faults x outcomes table of docs/reliability.md, from the fault tests' results file.

``python -m tests.reliability.report [RESULTS.json]`` prints the Markdown table (default file:
``EGOV_TEST_RELIABILITY_RESULTS`` or test-artifacts/reliability/results.json, as the tests write it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.reliability.checks import results_path

COLUMNS = ("fault", "events accepted", "lost", "duplicated in topics", "double-counted in views", "dead letters",
           "left in spools", "time to recover", "worker crashes (restarted)", "passed")


def _recover(row: dict) -> str:
    value = row.get("recover_s")
    return "not recovered" if value is None else f"{value:.1f} s"


def table(results: dict) -> str:
    """One Markdown row per fault, in the order the results file lists them."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for fault, row in results.items():
        cells = [fault, f"{row.get('accepted', 0):,}", str(row.get("lost", 0)), str(row.get("duplicated", 0)),
                 str(row.get("double_counted", 0)), str(row.get("dead_letters", 0)), str(row.get("spooled", 0)),
                 _recover(row), str(row.get("worker_crashes", 0)), "yes" if row.get("passed") else "**no**"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else results_path()
    if not path.exists():
        print(f"no results at {path}: run `make test-reliability` first", file=sys.stderr)
        return 1
    print(table(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
