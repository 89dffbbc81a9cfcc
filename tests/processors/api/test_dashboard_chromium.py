"""The dashboard page in headless Chromium against the views API as a real process: figures, screenshot, live refresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.chromium import DevTools, Figures, run_chromium
from tests.fixtures.processors import wait_until
from tests.fixtures.views_api import HOUR, JAN_1, ba_row, ii_row

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def test_dashboard_renders_the_figures_of_the_views(dashboard_server, tmp_path):
    dom = run_chromium(["--virtual-time-budget=10000", "--dump-dom", f"{dashboard_server.url}/"], tmp_path / "profile")
    page = Figures(dom)
    assert page.texts["status"] == "live", page.texts.get("status")
    # The seeded rows (tests/fixtures/views_api.py SEED), rolled up by the API.
    assert {k: page.values[k] for k in (
        "integration-regions-publishing", "integration-regions-total", "integration-pct", "integration-events-total",
        "budget-allocated", "budget-realised", "budget-absorption-pct",
    )} == {
        "integration-regions-publishing": "4",
        "integration-regions-total": "552",
        "integration-pct": "0.72",
        "integration-events-total": "27",
        "budget-allocated": "4500000.50",
        "budget-realised": "3350000.50",
        "budget-absorption-pct": "74.44",
    }
    assert page.rows["integration-row"] == [
        {"data-province": "32", "regions_publishing": "3", "regions_total": "28", "integration_pct": "10.71", "events_total": "22"},
        {"data-province": "33", "regions_publishing": "1", "regions_total": "36", "integration_pct": "2.78", "events_total": "5"},
    ]
    # The latest fiscal year is shown by default.
    assert page.rows["budget-row"] == [
        {"data-province": "32", "data-fiscal-year": "2025", "allocated": "4000000.50", "realised": "3250000.50", "absorption_pct": "81.25"},
        {"data-province": "33", "data-fiscal-year": "2025", "allocated": "500000.00", "realised": "100000.00", "absorption_pct": "20"},
    ]
    # The page kept polling the API during the 10 s of virtual time.
    assert int(page.values["last-refresh"]) >= 2


def test_dashboard_screenshot_is_kept_as_an_artefact(dashboard_server, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    shot.unlink(missing_ok=True)
    run_chromium(
        ["--virtual-time-budget=10000", f"--screenshot={shot}", "--window-size=1280,900", f"{dashboard_server.url}/"],
        tmp_path / "profile",
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000, f"screenshot only {len(data)} bytes: blank page?"


def test_dashboard_refreshes_live_without_reload(dashboard_server, view_topics, tmp_path):
    browser = DevTools(tmp_path / "profile")
    try:
        browser.open(f"{dashboard_server.url}/")

        def figure(testid: str) -> str | None:
            # Null until the page has loaded (navigation is asynchronous).
            return browser.evaluate(f'document.querySelector(\'[data-testid="{testid}"]\')?.dataset.value ?? null')

        wait_until(lambda: figure("integration-events-total") == "27", 30, "the seeded figures on the page", interval=0.2)
        loads = browser.evaluate("performance.getEntriesByType('navigation').length")
        view_topics.produce(
            {
                "integration_index": [ii_row("35.01", "budgeting", 7, JAN_1, JAN_1 + 4 * HOUR, 1)],
                "budget_absorption": [ba_row("35.01", 2025, "100000.00", "50000.00")],
            }
        )
        wait_until(lambda: figure("integration-events-total") == "34", 30, "the new events on the open page", interval=0.2)
        wait_until(lambda: figure("budget-allocated") == "4600000.50", 30, "the new allocation on the open page", interval=0.2)
        assert (figure("integration-regions-publishing"), figure("budget-realised"), figure("budget-absorption-pct")) == ("5", "3400000.50", "73.91")
        assert browser.evaluate("performance.getEntriesByType('navigation').length") == loads  # no reload
    finally:
        browser.close()
