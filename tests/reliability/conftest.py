"""The fault suite's cluster (one per session, started by the tests) and each test's :class:`FaultBed`.

The fault tests (marked ``faults``) are slow and need their own 3-broker stack, so ``make test`` skips
them: they run when
``-m`` names ``faults`` or ``reliability`` (``make test-reliability``), when a file of this directory is
named on the command line, or with ``EGOV_TEST_FAULTS=1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.cluster import Cluster
from tests.reliability.harness import FaultBed

HERE = Path(__file__).resolve().parent


def _selected(config: pytest.Config) -> bool:
    if os.environ.get("EGOV_TEST_FAULTS", "").lower() in ("1", "true", "yes"):
        return True
    expr = config.option.markexpr or ""
    if "faults" in expr or "reliability" in expr:
        return True  # the expression selected these tests, and it names their marker
    base = config.invocation_params.dir
    return any(HERE in (base / str(arg).split("::")[0]).resolve().parents
               or (base / str(arg).split("::")[0]).resolve() == HERE for arg in config.args)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _selected(config):
        return
    skip = pytest.mark.skip(reason="the fault suite (a 3-broker stack, minutes per fault) runs under "
                                   "`make test-reliability` (-m faults), or name its file")
    for item in items:
        # Only the fault tests: the quick tests of the suite's tools (relay, small filesystem) always run.
        if HERE in Path(str(item.fspath)).resolve().parents and item.get_closest_marker("faults"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A 3-broker KRaft cluster and a registry of this session's own (the shared test stack is not touched)."""
    # A short state path: the dev stack's files and sockets live under it.
    cluster = Cluster.start(tmp_path_factory.mktemp("faults-cluster"), brokers=3)
    try:
        yield cluster
    finally:
        cluster.stack.down()


@pytest.fixture
def bed(cluster: Cluster, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[FaultBed]:
    """This test's fresh prefixed catalogue on the cluster; its processes are stopped at the end."""
    bed = FaultBed(cluster, tmp_path, request.node.name.removeprefix("test_")[:24])
    try:
        yield bed
    finally:
        bed.close()
        # A fault test may end with a broker or the registry down: the next one gets the whole cluster.
        cluster.ensure_running()
