"""``python -m devtools.tools install|path [helm|kubeconform|promtool|k8s-schemas|all]``."""

from __future__ import annotations

import sys

from devtools.tools.exceptions import ToolError
from devtools.tools.installers import TOOLS, ensure

_USAGE = f"usage: python -m devtools.tools install|path [{'|'.join(TOOLS)}|all]"


def main(argv: list[str] | None = None) -> int:
    """Install the named tools (default: all) and print ``name<TAB>path`` for each."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in ("install", "path"):
        print(_USAGE, file=sys.stderr)
        return 2
    names = args[1:] or ["all"]
    if "all" in names:
        names = list(TOOLS)
    unknown = [n for n in names if n not in TOOLS]
    if unknown:
        print(f"unknown tool(s): {', '.join(unknown)}\n{_USAGE}", file=sys.stderr)
        return 2
    try:
        for name in names:
            path = ensure(name, progress=lambda msg: print(msg, file=sys.stderr, flush=True))
            print(f"{name}\t{path}")
    except ToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
