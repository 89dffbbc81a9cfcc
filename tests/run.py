"""Run the test suite against one shared local stack (``make test``).

Starts the broker and the registry once, exports their ``EGOV_*`` settings
so every xdist worker uses the same stack, runs pytest with the given
arguments, and stops the stack at the end, also when tests fail or the run
is interrupted. Exit code is pytest's.
"""

from __future__ import annotations

import os
import sys
import tempfile

import pytest

from devtools.devstack import DevStack


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="egov-test-stack-") as state_dir:
        stack = DevStack(state_dir)
        print(f"starting the test stack in {state_dir} ...", flush=True)
        try:
            info = stack.up()
            os.environ.update(info.env())
            os.environ["EGOV_TEST_STATE_DIR"] = state_dir
            print(f"test stack: {info.bootstrap_servers}, {info.schema_registry_url}", flush=True)
            return int(pytest.main(argv))
        finally:
            stopped = stack.down()
            print(f"test stack stopped ({', '.join(stopped) or 'nothing left running'})", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
