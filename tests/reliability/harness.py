"""The fault suite's harness: one test's world on the cluster, its real processes, and the checks.

A :class:`FaultBed` is one test's world: a fresh prefixed catalogue applied with the cluster's
replication (RF 3, ``min.insync.replicas`` 2 on the 3-broker stack), its schemas registered by the
operator (as in production: publishers only look them up), one real ``egov-bus process`` worker
(exactly-once) and real ``egov-bus simulate`` publishers, each with its own SDK spool.

The simulator's events are a pure function of its arguments (seed, count, regions, themes, start,
rate, pseudonym key), so :meth:`Simulator.accepted_events` regenerates exactly what a run that
exited 0 accepted, event ids included. After a fault, :meth:`FaultBed.wait_recovered` waits for the
worker's lag to reach 0 and the views to be exact, and :meth:`FaultBed.check_all` runs the four checks
of :mod:`tests.reliability.checks` (re-exported here): every accepted event in its theme topic exactly
once, every view equal to the oracle's recomputation, no dead letter, empty spools.

Stable names for other fault tests: :class:`FaultBed`, :class:`Simulator`, :class:`Accepted`,
:func:`check_topics_exactly_once`, :func:`check_views_exact`, :func:`check_dlqs_empty`,
:func:`check_spools_empty`, :func:`spool_depth`, :func:`rss_bytes`, :func:`record_result`, :func:`conclude`,
:func:`wait_for`.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path

from adapters.privacy import Pseudonymizer
from adapters.simulator.generator import generate_events
from bus.serde import make_registry_client
from devtools.devstack import process as procs
from tests.fixtures.adapters import TEST_PSEUDONYM_KEY
from tests.fixtures.processors import Worker, committed_offsets, group_lag
from tests.fixtures.views_oracle import actual_views, comparable
from tests.reliability.checks import (
    Accepted,
    CheckReport,
    check_dlqs_empty,
    check_spools_empty,
    check_topics_exactly_once,
    check_views_exact,
    conclude,
    record_result,
    spool_depth,
)
from tests.reliability.cluster import Cluster, wait_for
from topics.catalog import load_catalog
from topics.provision import apply
from topics.registry import desired_subjects, register

log = logging.getLogger("egov.tests.faults")

EGOV = str(Path(sys.executable).with_name("egov-bus"))
#: Simulated time of the first event of every run (fixed: a rerun publishes the same events).
SIM_START = datetime(2025, 3, 1, tzinfo=timezone.utc)

__all__ = [
    "Accepted", "CheckReport", "Cluster", "FaultBed", "Simulator", "check_dlqs_empty", "check_spools_empty",
    "check_topics_exactly_once", "check_views_exact", "conclude", "record_result", "rss_bytes", "run_fault",
    "spool_depth", "wait_for",
]


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass  # the thread ended while we looked
    return out


def rss_bytes(pid: int) -> int:
    """VmRSS of ``pid`` and its descendants, from /proc (0 when it is gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(line.split()[1]) * 1024 for line in lines if line.startswith("VmRSS:"))
        todo += _children(p)
    return total


class Simulator:
    """``egov-bus simulate`` as a real process on the cluster, publishing to ``prefix``'s theme topics.

    Its SDK spool is ``<workdir>/spool-<name>/simulator.sqlite`` (``EGOV_SPOOL_DIR``); the run
    publishes ``round(rate * duration)`` events starting at simulated time ``start``.
    """

    def __init__(self, env: dict[str, str], prefix: str, workdir: Path, *, rate: float, duration: float, seed: int,
                 regions: str = "all", themes: str = "all", start: datetime = SIM_START, name: str = "simulator",
                 extra_env: dict[str, str] | None = None) -> None:
        self.rate, self.duration, self.seed = rate, duration, seed
        self.regions, self.themes, self.start, self.name = regions, themes, start, name
        self.total = max(1, round(rate * duration))
        self.spool_dir = workdir / f"spool-{name}"
        self.spool_path = self.spool_dir / "simulator.sqlite"
        self.log = workdir / f"{name}.log"
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
        child_env.update(env)
        # The SDK's default delivery timeout (120 s) unless a run asks for another, e.g. to show what
        # a shorter one does during a failover (docs/reliability.md).
        if os.environ.get("EGOV_TEST_DELIVERY_TIMEOUT_S"):
            child_env.setdefault("EGOV_DELIVERY_TIMEOUT_S", os.environ["EGOV_TEST_DELIVERY_TIMEOUT_S"])
        # The test key is no secret; it reaches the child by its environment, never its arguments.
        child_env.update(EGOV_SPOOL_DIR=str(self.spool_dir), EGOV_PSEUDONYM_KEY=TEST_PSEUDONYM_KEY, **(extra_env or {}))
        argv = [EGOV, "simulate", "--rate", str(rate), "--duration", str(duration), "--seed", str(seed),
                "--regions", regions, "--themes", themes, "--start", start.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "--topic-prefix", prefix]
        self._out = open(self.log, "ab")
        self.began = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=self._out, stderr=subprocess.STDOUT, env=child_env)
        self.ended: float | None = None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float) -> int:
        """Until the run ends (it drains its spool first); its exit code. Fails with the log's tail."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"simulator {self.name} still runs after {timeout:.0f}s\n{self.log_tail()}") from None
        self.ended = self.ended or time.monotonic()
        self._out.close()
        return code

    def wait_ok(self, timeout: float) -> None:
        """:meth:`wait`, and fail unless it exited 0 having published all ``total`` events."""
        code = self.wait(timeout)
        text = self.log.read_text(errors="replace")
        if code != 0 or f"simulated {self.total} events" not in text:
            raise AssertionError(f"simulator {self.name} exited {code} without publishing its {self.total} events\n"
                                 f"{self.log_tail()}")

    def stop(self) -> None:
        procs.stop_child(self.proc)
        if not self._out.closed:
            self._out.close()

    def log_tail(self, lines: int = 30) -> str:
        return procs.log_tail(self.log, lines)

    def spool_depth(self) -> int:
        """Events waiting in this publisher's spool now."""
        return spool_depth(self.spool_path)

    def accepted_events(self) -> Iterator:
        """The run's events, regenerated: exactly what it accepted once :meth:`wait_ok` passed."""
        return generate_events(self.seed, self.total, regions=self.regions, themes=self.themes, start=self.start,
                               rate=self.rate, pseudonymizer=Pseudonymizer(TEST_PSEUDONYM_KEY))


class FaultBed:
    """One test's world on ``cluster``: a fresh catalogue under its own prefix, its worker and publishers."""

    def __init__(self, cluster: Cluster, workdir: Path, name: str) -> None:
        self.cluster, self.workdir, self.name = cluster, Path(workdir), name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.settings = cluster.settings
        self.prefix = f"flt.{name.replace('_', '-')}.{uuid.uuid4().hex[:8]}"
        # As `egov-bus topics apply` does (topics/cli.py): the cluster's replication from its settings.
        catalog = load_catalog(prefix=self.prefix).with_durability(self.settings.topic_replication_factor,
                                                                   self.settings.topic_min_insync_replicas)
        self.catalog = catalog
        self.admin = cluster.admin()
        apply(self.admin, catalog, timeout=60)
        # Fresh topics elect leaders and fill their ISRs in the background: the processes start on settled ones.
        cluster.wait_fully_replicated()
        self.registry = make_registry_client(self.settings)
        # The operator registers every schema up front: no publisher needs the registry to register one.
        register(self.registry, desired_subjects(catalog))
        self.app_id = f"egov-flt-{uuid.uuid4().hex[:8]}"
        self.data_dir = self.workdir / "worker-data"
        self.theme_topics = [t.name for t in catalog.of_kind("theme")]
        self.dlq_topics = [t.name for t in catalog.of_kind("dlq")]
        self.worker: Worker | None = None
        self.worker_starts = 0
        #: Exits of the worker nobody asked for, each restarted by the supervisor (as its pod would be).
        self.crashes: list[dict] = []
        self.simulators: list[Simulator] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, name="worker-supervisor", daemon=True)

    def crash_summary(self) -> dict:
        """``worker_crashes`` and their distinct ``crash_errors``, as the results file records them."""
        return {"worker_crashes": len(self.crashes), "crash_errors": sorted({c["error"] for c in self.crashes})}

    # -- processes -----------------------------------------------------------------------------

    def start_worker(self) -> Worker:
        """A worker of this bed's app id on its one data directory (a restart after a kill resumes from it).

        The first start also starts the supervisor: like Kubernetes for the processor pod, it restarts
        a worker that exits on its own (recorded in :attr:`crashes`, with the exit code and last error).
        """
        with self._lock:
            self._start_worker_locked()
        if not self._supervisor.is_alive():
            self._supervisor.start()
        assert self.worker is not None
        return self.worker

    def _start_worker_locked(self) -> None:
        self.worker = Worker(self.settings, self.prefix, self.app_id, self.workdir / f"worker-{self.worker_starts}.log",
                             self.data_dir, "exactly_once")
        self.worker_starts += 1

    def kill_worker(self) -> None:
        """SIGKILL the worker and start the next one on the same data directory (a fault, not a crash)."""
        with self._lock:
            assert self.worker is not None
            self.worker.kill()
            self._start_worker_locked()

    def _supervise(self) -> None:
        # Polling period of the restart policy (a pod's restart comes within seconds too).
        while not self._closing.wait(0.5):
            with self._lock:
                worker = self.worker
                if worker is None or worker.alive() or self._closing.is_set():
                    continue
                errors = [line for line in worker.log_tail().splitlines() if "ERROR" in line or "FATAL" in line]
                crash = {"t": round(time.monotonic(), 1), "exit": worker.proc.returncode,
                         "error": (errors[0] if errors else "(no error logged)")[:300], "log": str(worker.log)}
                self.crashes.append(crash)
                log.warning("the worker exited by itself (exit %s): %s; restarting it", crash["exit"], crash["error"])
                self._start_worker_locked()

    def start_simulator(self, *, rate: float, duration: float, seed: int, **kwargs) -> Simulator:
        """A real ``egov-bus simulate`` on this bed's topics (see :class:`Simulator` for the arguments)."""
        sim = Simulator(self.cluster.env(), self.prefix, self.workdir, rate=rate, duration=duration, seed=seed,
                        name=kwargs.pop("name", f"simulator-{len(self.simulators)}"), **kwargs)
        self.simulators.append(sim)
        return sim

    def close(self) -> None:
        """Stop what this bed started (by PID)."""
        self._closing.set()
        if self._supervisor.is_alive():
            self._supervisor.join(timeout=10)
        for sim in self.simulators:
            sim.stop()
        if self.worker is not None:
            self.worker.stop()

    def hold(self, seconds: float) -> None:
        """Keep a fault on for ``seconds`` (its planned length); the supervisor restarts a crashed worker meanwhile."""
        self._closing.wait(max(0.0, seconds))  # the fault's schedule, not synchronisation

    def worker_log(self) -> str:
        return self.worker.log_tail() if self.worker is not None else "(no worker)"

    # -- progress ----------------------------------------------------------------------------------

    def lag(self) -> int:
        """Records of the theme topics the worker's group has not committed yet."""
        return group_lag(self.settings, self.app_id, self.theme_topics)

    def committed(self) -> int:
        """Events the worker's group has committed (the sum of its committed offsets on the theme topics)."""
        offsets = committed_offsets(self.settings, self.app_id, self.theme_topics)
        return sum(offset for offset in offsets.values() if offset > 0)

    def accepted(self, sims: Iterable[Simulator] | None = None) -> Accepted:
        """What ``sims`` (default: every simulator of the bed, each finished with :meth:`Simulator.wait_ok`) accepted."""
        sims = list(self.simulators if sims is None else sims)
        return Accepted.of((e for s in sims for e in s.accepted_events()), self.prefix)

    def views_exact(self, accepted: Accepted) -> bool:
        got = comparable(actual_views(self.settings, self.registry, self.prefix), accepted.expected)
        return got == accepted.expected

    def wait_recovered(self, accepted: Accepted, since: float, timeout: float = 600.0) -> float:
        """Seconds from ``since`` (monotonic: the fault's end) until the lag is 0 and the views exact."""

        def recovered() -> bool:
            return self.lag() == 0 and self.views_exact(accepted)

        try:
            wait_for(recovered, timeout, "the worker's lag to reach 0 and its views to be exact", interval=1.0)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nworker log:\n{self.worker_log()}") from None
        return time.monotonic() - since

    def check_all(self, accepted: Accepted, spools: Iterable[Path] = ()) -> CheckReport:
        """The four checks after a fault (``spools``: other publishers' spool files than the bed's simulators).

        Returns the report without failing: :func:`conclude` records it, then fails listing the
        offending event ids (or view rows).
        """
        report = CheckReport(accepted=len(accepted.ids))
        check_topics_exactly_once(self.settings, self.theme_topics, accepted, report)
        check_views_exact(self.settings, self.registry, self.prefix, accepted, report)
        check_dlqs_empty(self.settings, self.dlq_topics, report)
        check_spools_empty([s.spool_path for s in self.simulators] + list(spools), report)
        return report



#: The fault tests' publishing rate (events/s) and how long they publish before the fault.
RATE = float(os.environ.get("EGOV_TEST_FAULT_RATE", "500"))
WARMUP_S = float(os.environ.get("EGOV_TEST_FAULT_WARMUP_S", "15"))
#: Publishing goes on this long after the fault's planned end, so the fault falls inside it.
TAIL_S = 10.0
#: A fault test fails unless the worker has caught up and the views are exact within this.
RECOVER_TIMEOUT_S = 300.0


def run_fault(bed: FaultBed, fault: str, inject: Callable[[], dict], *, planned_s: float, seed: int,
              rate: float = RATE) -> CheckReport:
    """One fault while a simulator publishes and the worker processes, then the checks, recorded as ``fault``.

    The simulator runs ``WARMUP_S + planned_s + TAIL_S`` seconds at ``rate``; ``inject()`` is called
    once the worker has committed events and the warm-up is over, and returns what it measured (it
    returns when the fault is over: the broker, registry or worker is back). The time to recover is
    from then until the lag is 0 and the views are exact (publishing ends about ``TAIL_S`` after a fault
    that took its planned time, so that tail is in it). Fails, after recording, if any check fails.
    """
    bed.start_worker()
    sim = bed.start_simulator(rate=rate, duration=WARMUP_S + planned_s + TAIL_S, seed=seed)
    def warm() -> bool:
        return time.monotonic() - sim.began >= WARMUP_S and bed.committed() > 0

    warmup_error = None
    try:
        wait_for(warm, WARMUP_S + 120, "the worker to commit its first events")
    except AssertionError as exc:
        # Recorded as a failure; the fault and the checks still run, so one run shows everything.
        warmup_error = str(exc).splitlines()[0]
    began = time.monotonic()
    log.warning("fault %s begins", fault)
    try:
        measured = inject() or {}
    except Exception as exc:  # noqa: BLE001 - the fault could not be carried out: recorded, then the checks still run
        measured = {"fault_error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
        log.warning("fault %s failed: %s", fault, measured["fault_error"])
        bed.cluster.ensure_running()
    fault_end = time.monotonic()
    if warmup_error:
        measured["warmup_error"] = warmup_error
    measured["fault_s"] = round(fault_end - began, 1)
    sim.wait_ok(timeout=planned_s + TAIL_S + 600)
    measured["published_after_fault_s"] = round(max(0.0, (sim.ended or fault_end) - fault_end), 1)
    accepted = bed.accepted()
    stuck = sim.spool_depth()
    if stuck:
        # The run ended with events it accepted still spooled: they cannot arrive, so the views cannot be exact.
        measured["recover_s"] = None
        measured["not_recovered"] = f"the simulator exited with {stuck} accepted event(s) still in its spool"
        try:
            wait_for(lambda: bed.lag() == 0, 300, "the worker's lag to reach 0", interval=1.0)
        except AssertionError as exc:
            measured["not_recovered"] += f"; {exc}"
    else:
        try:
            measured["recover_s"] = round(bed.wait_recovered(accepted, fault_end, timeout=RECOVER_TIMEOUT_S), 1)
        except AssertionError as exc:
            measured["recover_s"] = None
            measured["not_recovered"] = str(exc).splitlines()[0]
    report = bed.check_all(accepted)
    measured.update(bed.crash_summary())
    if measured.get("not_recovered"):
        report.failures.insert(0, measured["not_recovered"])
    if measured.get("warmup_error"):
        report.failures.insert(0, f"before the fault: {measured['warmup_error']}")
    if measured.get("fault_error"):
        report.failures.insert(0, f"the fault itself failed: {measured['fault_error']}")
    conclude(fault, report, rate=rate, **measured)
    return report
