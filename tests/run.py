"""Run the test suite against one shared local stack (``make test``).

Starts the broker and the registry once, exports their ``EGOV_*`` settings
so every xdist worker uses the same stack, runs pytest with the given
arguments, and stops the stack at the end, also when tests fail or the run
is interrupted. Exit code is pytest's.

A second, secured stack (SASL_SSL, ACLs enforced: ``dev up --secure``) starts
alongside, for the tests of who may do what (``tests/security``), and is
shared through ``EGOV_TEST_SECURE_STATE_DIR``; ``EGOV_TEST_SECURE=0`` skips it
(those tests then start their own when selected).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading

import pytest

from devtools.devstack import DevStack


def main(argv: list[str]) -> int:
    want_secure = os.environ.get("EGOV_TEST_SECURE", "1") != "0"
    with tempfile.TemporaryDirectory(prefix="egov-test-stack-") as state_dir, \
            tempfile.TemporaryDirectory(prefix="egov-test-secure-") as secure_dir:
        stack = DevStack(state_dir)
        secure = DevStack(secure_dir) if want_secure else None
        secure_failure: list[BaseException] = []

        def start_secure() -> None:
            try:
                secure.up(progress=lambda _m: None, secure=True)  # type: ignore[union-attr]
            except BaseException as exc:  # reported after the plain stack is up
                secure_failure.append(exc)

        print(f"starting the test stack in {state_dir} ...", flush=True)
        # Both stacks' JVMs warm up at the same time.
        starter = threading.Thread(target=start_secure, name="secure-stack") if secure else None
        try:
            if starter:
                starter.start()
            info = stack.up()
            os.environ.update(info.env())
            os.environ["EGOV_TEST_STATE_DIR"] = state_dir
            print(f"test stack: {info.bootstrap_servers}, {info.schema_registry_url}", flush=True)
            if starter:
                starter.join()
                if secure_failure:
                    raise secure_failure[0]
                os.environ["EGOV_TEST_SECURE_STATE_DIR"] = secure_dir
                print(f"secured test stack: {secure.info().bootstrap_servers} (SASL_SSL, ACLs)", flush=True)  # type: ignore[union-attr]
            return int(pytest.main(argv))
        finally:
            if starter and starter.is_alive():
                starter.join()
            stopped = stack.down()
            if secure:
                stopped += [f"secure {name}" for name in secure.down()]
            print(f"test stack stopped ({', '.join(stopped) or 'nothing left running'})", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
