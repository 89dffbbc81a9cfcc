"""The views API's answers for the dashboard (unit): silent regions, freshness and DLQ depth, by-theme roll-up, regions, assets.

The app is the real one over a store fed the seeded rows (tests/processors/api/test_app_access.py's
``seeded_store``), called with FastAPI's TestClient; the DLQ reader is a stand-in with fixed depths.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from processors.api.app import create_app
from processors.api.health import freshness
from processors.api.silent import silent_regions
from tests.processors.api.test_app_access import JABAR, NATION, get, seeded_store, token_store

NOW = datetime(2025, 1, 10, tzinfo=timezone.utc)


def row(code: str, theme: str, last: datetime, events: int = 1) -> dict:
    return {"region_code": code, "province_code": code[:2], "theme": theme, "events_total": events,
            "last_seen": last.isoformat().replace("+00:00", "Z")}


ROWS = [
    row("32.01", "budgeting", NOW - timedelta(hours=1)),
    row("32.01", "complaints", NOW - timedelta(days=20)),
    row("32.73", "budgeting", NOW - timedelta(days=10)),
    row("32", "treasury", NOW - timedelta(days=2)),
    row("32.02", "budgeting", NOW - timedelta(hours=1), events=0),  # a row without events is no sign of life
]


def test_silent_counts_every_region_of_the_kemendagri_list_per_province():
    body = silent_regions(ROWS, days=7, now=NOW)
    per = {p["province_code"]: (p["regions_silent"], p["regions_total"], p["never_seen"]) for p in body["provinces"]}
    assert (len(per), per["32"], per["11"]) == (38, (26, 28, 25), (24, 24, 24))
    assert sum(p["regions_total"] for p in body["provinces"]) == 552
    assert (body["days"], body["theme"], body["as_of"], body["since"], body["regions"]) == (
        7, None, "2025-01-10T00:00:00.000Z", "2025-01-03T00:00:00.000Z", [])


def test_silent_in_one_theme_lists_the_provinces_regions_with_their_last_event():
    body = silent_regions(ROWS, days=7, now=NOW, theme="budgeting", province="32")
    assert [(p["province_code"], p["regions_silent"], p["never_seen"]) for p in body["provinces"]] == [("32", 27, 26)]
    listed = {r["region_code"]: r["last_seen"] for r in body["regions"]}
    assert (len(listed), "32.01" in listed, listed["32.73"], listed["32"], listed["32.02"]) == (
        27, False, "2024-12-31T00:00:00.000Z", None, None)


def test_the_cut_off_is_inclusive():
    exactly = [row("32.01", "budgeting", NOW - timedelta(days=7))]
    body = silent_regions(exactly, days=7, now=NOW, province="32")
    assert "32.01" not in {r["region_code"] for r in body["regions"]}


def test_freshness_marks_old_and_never_updated_views_stale():
    assert freshness({"a": 1000.0, "b": 100.0, "c": None}, now=1060.0, stale_after_s=900) == [
        {"view": "a", "updated_at": "1970-01-01T00:16:40.000Z", "age_s": 60.0, "stale": False},
        {"view": "b", "updated_at": "1970-01-01T00:01:40.000Z", "age_s": 960.0, "stale": True},
        {"view": "c", "updated_at": None, "age_s": None, "stale": True},
    ]


class FixedDlq:
    def read(self):
        return {"themes": {"budgeting": 3, "complaints": None}, "upper_bound": True, "error": None,
                "read_at": "2025-01-10T00:00:00.000Z"}

    def close(self):
        pass


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(seeded_store(), tokens=token_store(), manage_store=False, dlq=FixedDlq(), stale_after_s=60))


def test_freshness_gives_each_view_and_the_dlq_depths_to_a_nation_reader(client):
    body = get(client, "/freshness", NATION).json()
    assert [(v["view"], v["stale"]) for v in body["views"]] == [
        ("integration_index", False), ("budget_absorption", False),
        ("complaint_service_level", False), ("licensing_throughput", False)]
    assert (body["stale_after_s"], body["dlq"]["themes"]) == (60, {"budgeting": 3, "complaints": None})


def test_a_province_token_gets_no_dlq_depths_and_its_own_silent_regions(client):
    assert get(client, "/freshness", JABAR).json()["dlq"] is None
    body = get(client, "/silent", JABAR, days=30).json()
    assert [p["province_code"] for p in body["provinces"]] == ["32"]
    assert get(client, "/silent", JABAR, province="33").status_code == 403
    assert get(client, "/silent").status_code == 401


def test_silent_refuses_bad_filters(client):
    assert get(client, "/silent", NATION, theme="nope").json()["detail"][0]["loc"] == ["query", "theme"]
    assert get(client, "/silent", NATION, province="99").status_code == 422
    assert get(client, "/silent", NATION, days=0).status_code == 422


def test_integration_by_theme_rolls_up_per_theme(client):
    body = get(client, "/views/integration_index", NATION, level="province", province="32", by="theme").json()
    assert [(r["theme"], r["regions_publishing"], r["integration_pct"], r["events_total"]) for r in body["rows"]] == [
        ("budgeting", 2, 7.14, 16), ("complaints", 1, 3.57, 4), ("treasury", 1, 3.57, 2)]
    bad = get(client, "/views/budget_absorption", NATION, level="nation", by="theme")
    assert (bad.status_code, bad.json()["detail"][0]["loc"]) == (422, ["query", "by"])
    assert get(client, "/views/integration_index", NATION, by="theme").status_code == 422  # level=region


def test_regions_lists_the_provinces_or_one_provinces_regions(client):
    provinces = client.get("/regions").json()["regions"]
    assert (len(provinces), provinces[11]) == (38, {"code": "32", "name": "Jawa Barat", "level": 1, "province_code": "32"})
    jabar = client.get("/regions", params={"province": "32"}).json()["regions"]
    assert (len(jabar), jabar[1]["code"], jabar[1]["name"]) == (28, "32.01", "Kabupaten Bogor")


def test_the_page_and_its_assets_are_served_by_the_app(client):
    page = client.get("/")
    # Nothing from elsewhere: no absolute URL in the page.
    assert page.status_code == 200 and '<html lang="id">' in page.text and "//" not in page.text
    for name in ("dashboard.js", "views.js", "format.js", "i18n.js", "charts.js", "tiles.js"):
        res = client.get(f"/static/{name}")
        assert (res.status_code, res.headers["content-type"]) == (200, "text/javascript; charset=utf-8"), name
        assert f'src="/static/{name}"' in page.text
    assert client.get("/static/dashboard.css").headers["content-type"] == "text/css; charset=utf-8"
    assert client.get("/static/..%2Fapp.py").status_code == 404
    assert client.get("/static/dashboard.html").status_code == 404
