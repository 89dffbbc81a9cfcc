"""Every benchmark target against its measured figure, from the result files of the runs just made.

``deploy/bench.sh`` calls it at the end with the result file of each benchmark
it ran (``bench/results/<name>.json`` unless ``--output`` said otherwise) and
the time it started: a file not written since then is reported as such, not
read (its figures would be an older run's). Each result file lists its targets
in one shape (``bench/common.py`` ``verdict``: ``target``, ``measured``,
``met``, ``line``); this prints those lines and a count. For a benchmark named in
``EXPECTED``, a target the issue set that its file does not record is counted as
not measured (a result file of an older format, or a run that skipped the cell).

    .venv/bin/python -m bench.summary [--since EPOCH_SECONDS] FILE...
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# Targets a benchmark must report, by the start of their ``target`` text.
EXPECTED = {
    "B1 publish": [  # issue 14 (bench/publish.py)
        "SDK signing ≥ 0.5× SDK unsigned",
    ],
    "B2 process": [  # issue 14 (bench/process.py, unless --skip-verify)
        "worker verifying ≥ 0.5× worker not verifying",
    ],
    "B4 gateway": [  # issue 12 (bench/gateway.py)
        "single events at 32 connections ≥ 0.5× bare",
        "single events at 32 connections p99 ≤ 50 ms",
        "/v1/batch of 100 ≥ 20,000 events/s with one process",
    ],
}


def summarize(files: list[Path], since: float | None) -> list[str]:
    lines = ["== targets vs measured"]
    counts = {"met": 0, "MISSED": 0, "not measured": 0}
    for path in files:
        if not path.exists() or (since is not None and path.stat().st_mtime < since):
            lines.append(f"  {path}: not written by this run")
            continue
        result = json.loads(path.read_text())
        lines.append(f"  {result.get('benchmark', path.stem)} ({result.get('when', '?')}, {path}):")
        targets = result.get("targets")
        if not isinstance(targets, list):
            lines.append("    (no targets in this file: an older result format)")
            continue
        for t in targets:
            counts["met" if t["met"] else "MISSED" if t["met"] is not None else "not measured"] += 1
            lines.append(f"    {t['line']}")
        for expected in EXPECTED.get(result.get("benchmark", ""), []):
            if not any(str(t.get("target", "")).startswith(expected) for t in targets):
                counts["not measured"] += 1
                lines.append(f"    target {expected}: not in this file — not measured")
    lines.append("  " + ", ".join(f"{n} {word}" for word, n in counts.items()))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", type=Path, nargs="*")
    parser.add_argument("--since", type=float, help="ignore files last written before this time (epoch seconds)")
    args = parser.parse_args(argv)
    print("\n".join(summarize(args.files, args.since)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
