"""The dashboard page in headless Chromium against the views API as a real process: token login, figures, screenshot, live refresh.

The API asks for bearer tokens (tests/fixtures/views_api.py mints them): each test opens the page,
which asks for a token, and types one into its login field, as an official would. The page is opened
in English (``?lang=en``; Bahasa Indonesia is the default, tested in test_dashboard_views_chromium.py).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.fixtures.chromium import DevTools, Figures
from tests.fixtures.processors import wait_until
from tests.fixtures.views_api import HOUR, JAN_1, ba_row, ii_row

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
NEEDS_TOKEN = "This dashboard needs an access token: paste the one you were given into the field above."


@pytest.fixture
def browser(tmp_path):
    browser = DevTools(tmp_path / "profile")
    try:
        yield browser
    finally:
        browser.close()


def figure(browser: DevTools, testid: str) -> str | None:
    # Null until the page has loaded (navigation is asynchronous).
    return browser.evaluate(f'document.querySelector(\'[data-testid="{testid}"]\')?.dataset.value ?? null')


def text(browser: DevTools, testid: str) -> str | None:
    return browser.evaluate(f'document.querySelector(\'[data-testid="{testid}"]\')?.textContent ?? null')


def log_in(browser: DevTools, token: str) -> None:
    """Type ``token`` into the page's login field and submit it."""
    browser.evaluate(
        "(() => { document.getElementById('token').value = " + json.dumps(token) + ";"
        " document.getElementById('login').requestSubmit(); return true; })()"
    )


def open_page(browser: DevTools, url: str) -> None:
    """Open the dashboard and wait until it says it needs a token."""
    browser.open(f"{url}/?lang=en")
    wait_until(lambda: text(browser, "access-message") == NEEDS_TOKEN, 30, "the page to ask for a token", interval=0.2)
    assert text(browser, "status") == "access token needed"


def test_dashboard_renders_the_figures_of_the_views(dashboard_server, browser):
    open_page(browser, dashboard_server.url)
    assert figure(browser, "integration-events-total") is None  # nothing shown without a token
    log_in(browser, dashboard_server.token)
    # The page keeps polling the API: wait for a second refresh after the login.
    wait_until(lambda: int(figure(browser, "last-refresh") or 0) >= 2, 30, "two refreshes with the token", interval=0.2)
    page = Figures(browser.evaluate("document.documentElement.outerHTML"))
    assert page.texts["status"] == "live", page.texts.get("status")
    assert text(browser, "scope") == "all provinces (token tests-nation)"
    assert browser.evaluate("document.getElementById('access-message').hidden") is True
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
    # The token stays in the tab's sessionStorage, never in the page's address.
    assert browser.evaluate("location.href") == f"{dashboard_server.url}/?lang=en"


def test_a_province_token_sees_its_province_and_a_wrong_one_is_told_so(dashboard_server, browser):
    open_page(browser, dashboard_server.url)
    log_in(browser, "egv_not-a-token")
    refused = "The access token was refused (invalid bearer token): check it, or ask the views API's operator for a new one."
    wait_until(lambda: text(browser, "access-message") == refused, 30, "the refusal on the page", interval=0.2)
    log_in(browser, dashboard_server.tokens["province:32"])
    wait_until(lambda: figure(browser, "integration-events-total") == "22", 30, "province 32's figures", interval=0.2)
    page = Figures(browser.evaluate("document.documentElement.outerHTML"))
    # The page opens at its province (the nation's roll-up is not its to read); no other province appears.
    assert browser.evaluate("location.search") == "?province=32&lang=en"
    assert {k: page.values[k] for k in ("integration-regions-publishing", "integration-regions-total", "integration-pct",
                                        "budget-allocated", "budget-realised")} == {
        "integration-regions-publishing": "3", "integration-regions-total": "28", "integration-pct": "10.71",
        "budget-allocated": "4000000.50", "budget-realised": "3250000.50"}
    assert {r["data-region"][:2] for r in page.rows["integration-row"]} == {"32"}
    assert [r["data-region"] for r in page.rows["budget-row"]] == ["32.01", "32.73"]
    assert text(browser, "scope") == "province 32 only (token bappeda-jabar)"
    # The DLQ depths count every province's rejected events: not for a province's token.
    assert text(browser, "dlq-note") == "DLQ counts are shown to nation-wide readers only."
    # Another province, by its URL: refused, and said so.
    browser.evaluate("history.pushState(null, '', '/?province=33&lang=en'); dispatchEvent(new PopStateEvent('popstate')); true")
    wait_until(lambda: text(browser, "status") == "not allowed", 30, "the refusal of province 33", interval=0.2)
    assert text(browser, "access-message") == "Not allowed: token bappeda-jabar may read province 32 only."
    assert figure(browser, "integration-events-total") is None
    browser.evaluate("document.getElementById('token-forget').click()")
    wait_until(lambda: text(browser, "access-message") == NEEDS_TOKEN, 30, "the page to ask again", interval=0.2)
    assert figure(browser, "integration-events-total") is None


def test_dashboard_screenshot_is_kept_as_an_artefact(dashboard_server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    shot.unlink(missing_ok=True)
    open_page(browser, dashboard_server.url)
    browser.call("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    log_in(browser, dashboard_server.token)
    wait_until(lambda: figure(browser, "integration-events-total") == "27", 30, "the figures on the page", interval=0.2)
    shot.write_bytes(base64.b64decode(browser.call("Page.captureScreenshot", {"format": "png"})["data"]))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000, f"screenshot only {len(data)} bytes: blank page?"


def test_dashboard_refreshes_live_without_reload(dashboard_server, view_topics, browser):
    open_page(browser, dashboard_server.url)
    log_in(browser, dashboard_server.token)
    wait_until(lambda: figure(browser, "integration-events-total") == "27", 30, "the seeded figures on the page", interval=0.2)
    loads = browser.evaluate("performance.getEntriesByType('navigation').length")
    view_topics.produce(
        {
            "integration_index": [ii_row("35.01", "budgeting", 7, JAN_1, JAN_1 + 4 * HOUR, 1)],
            "budget_absorption": [ba_row("35.01", 2025, "100000.00", "50000.00")],
        }
    )
    wait_until(lambda: figure(browser, "integration-events-total") == "34", 30, "the new events on the open page", interval=0.2)
    wait_until(lambda: figure(browser, "budget-allocated") == "4600000.50", 30, "the new allocation on the open page", interval=0.2)
    assert (figure(browser, "integration-regions-publishing"), figure(browser, "budget-realised"),
            figure(browser, "budget-absorption-pct")) == ("5", "3400000.50", "73.91")
    assert browser.evaluate("performance.getEntriesByType('navigation').length") == loads  # no reload
