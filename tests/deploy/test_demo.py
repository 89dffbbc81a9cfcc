"""``make demo`` (deploy/demo.sh), run whole on its own secured stack, shows the product: the four views as
``egov-bus views`` tables, the dashboard URL and ``egov-bus status`` — and no Python repr anywhere."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

# The whole demo: a secured stack, a worker, two regions publishing for 8 s (about 2 min on a quiet machine).
DEMO_TIMEOUT_S = 840
pytestmark = [pytest.mark.integration, pytest.mark.timeout(DEMO_TIMEOUT_S + 60)]

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ("integration_index", "budget_absorption", "complaint_service_level", "licensing_throughput")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    state = tmp_path_factory.mktemp("demo")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update(DEMO_STATE_DIR=str(state), DEMO_DASHBOARD_PORT=str(port), DEMO_SECONDS="8", DEMO_RATE="40",
               DEMO_REGIONS="32.01,31.71", COLUMNS="200")
    demo = subprocess.Popen([str(ROOT / "deploy" / "demo.sh")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, cwd=ROOT)
    try:
        text, _ = demo.communicate(timeout=DEMO_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        # SIGTERM runs the demo's own cleanup (its worker, dashboard and stack, by PID).
        demo.terminate()
        text, _ = demo.communicate(timeout=120)
        pytest.fail(f"the demo took more than {DEMO_TIMEOUT_S} s; its output ends: {text[-2000:]}")
    assert demo.returncode == 0, text[-4000:]
    return text


def test_no_python_repr_in_the_output(demo_output: str) -> None:
    for repr_ in ("datetime.datetime(", "Decimal(", "tzinfo=", "Traceback"):
        assert repr_ not in demo_output


def test_the_views_are_printed_as_tables(demo_output: str) -> None:
    for view in VIEWS:
        assert re.search(rf"^{view}: \d+ row\(s\)", demo_output, re.M), view
    # The integration index has a row per region and theme, from both regions: its heading and their codes.
    assert re.search(r"┃ region ┃ name\s+┃ prov\. ┃ theme\s+┃ events ┃", demo_output)
    assert "│ 31.71  │" in demo_output and "│ 32.01  │" in demo_output
    assert re.search(r"allocated \(Rp\)", demo_output)


def test_the_dashboard_url_and_the_status_are_shown(demo_output: str) -> None:
    assert re.search(r"^dashboard:  http://127\.0\.0\.1:\d+/$", demo_output, re.M)
    status = demo_output.split("== 8. the bus's health", 1)[1]
    for title in ("Kafka", "Schema registry", "Consumer lag", "Dead letters per theme", "Regions publishing per theme"):
        assert title in status
    assert "(egov-bus status: exit" not in status  # everything was up
