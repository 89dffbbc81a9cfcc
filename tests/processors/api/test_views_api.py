"""The views API as a real process over real view topics (broker + registry): filters, roll-ups, errors, live updates.

The tests that change the topics (live update, poison) come last in the file: pytest runs a module's
tests in file order on each worker, and the exact-value tests read the seeded rows.
"""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.processors import wait_until
from tests.fixtures.views_api import HOUR, JAN_1, DashboardServer, ViewTopics, ii_row

pytestmark = pytest.mark.integration

JAN_1_ISO = "2025-01-01T00:00:00.000Z"


def test_views_lists_the_four_views_with_their_keys_topics_and_rows(dashboard_server, view_topics):
    body = dashboard_server.get("/views").json()
    assert [(v["name"], v["key"], v["topic"], v["rows"]) for v in body["views"]] == [
        ("integration_index", ["region_code", "theme"], view_topics.topics["integration_index"], 5),
        ("budget_absorption", ["region_code", "fiscal_year"], view_topics.topics["budget_absorption"], 4),
        ("complaint_service_level", ["region_code", "month"], view_topics.topics["complaint_service_level"], 3),
        ("licensing_throughput", ["region_code", "day"], view_topics.topics["licensing_throughput"], 2),
    ]
    assert "budgeting" in body["themes"] and body["levels"] == ["region", "province", "nation"]


def test_healthz_reports_ready_with_row_counts(dashboard_server):
    res = dashboard_server.get("/healthz")
    body = res.json()
    assert res.status_code == 200
    assert (body["status"], body["ready"], body["decode_errors"], body["partitions_loading"]) == ("ok", True, 0, 0)
    assert body["rows"] == {"integration_index": 5, "budget_absorption": 4, "complaint_service_level": 3, "licensing_throughput": 2}


def test_region_filter_gives_the_last_row_per_key(dashboard_server):
    res = dashboard_server.get("/views/integration_index", region="32.01")
    assert res.status_code == 200
    body = res.json()
    assert body.pop("updated_at")
    assert body == {
        "view": "integration_index",
        "key": ["region_code", "theme"],
        "level": "region",
        "filters": {"province": None, "region": "32.01", "theme": None},
        "count": 2,
        "rows": [
            {"region_code": "32.01", "region_name": "Kabupaten Bogor", "province_code": "32", "theme": "budgeting",
             "events_total": 10, "first_seen": JAN_1_ISO, "last_seen": "2025-01-02T06:00:00.000Z", "active_days": 2,
             "events_per_day": 5.0},
            {"region_code": "32.01", "region_name": "Kabupaten Bogor", "province_code": "32", "theme": "complaints",
             "events_total": 4, "first_seen": "2025-01-01T01:00:00.000Z", "last_seen": "2025-01-01T02:00:00.000Z",
             "active_days": 1, "events_per_day": 4.0},
        ],
    }


def test_province_and_theme_filters_and_tombstones(dashboard_server):
    body = dashboard_server.get("/views/integration_index", province="32", theme="budgeting").json()
    assert [r["region_code"] for r in body["rows"]] == ["32.01", "32.73"]
    assert body["filters"] == {"province": "32", "region": None, "theme": "budgeting"}
    # 34.01|budgeting was deleted by a tombstone.
    assert dashboard_server.get("/views/integration_index", province="34").json()["rows"] == []


def test_integration_index_rolled_up_to_province_and_nation(dashboard_server):
    body = dashboard_server.get("/views/integration_index", level="province", province="32", theme="budgeting").json()
    assert body["rows"] == [
        {"level": "province", "province_code": "32", "province_name": "Jawa Barat", "regions_total": 28,
         "regions_publishing": 2, "integration_pct": 7.14, "themes_published": 1, "events_total": 16,
         "first_seen": JAN_1_ISO, "last_seen": "2025-01-03T02:00:00.000Z"},
    ]
    body = dashboard_server.get("/views/integration_index", level="nation").json()
    assert body["rows"] == [
        {"level": "nation", "province_code": None, "province_name": None, "regions_total": 552,
         "regions_publishing": 4, "integration_pct": 0.72, "themes_published": 3, "events_total": 27,
         "first_seen": JAN_1_ISO, "last_seen": "2025-01-03T02:00:00.000Z"},
    ]


def test_budget_absorption_rolled_up(dashboard_server):
    province = dashboard_server.get("/views/budget_absorption", level="province").json()["rows"]
    assert [(r["province_code"], r["fiscal_year"], r["regions"], r["allocated"], r["realised"], r["absorption_pct"]) for r in province] == [
        ("32", 2025, 2, "4000000.50", "3250000.50", 81.25),
        ("33", 2024, 1, "200.00", "200.00", 100.0),
        ("33", 2025, 1, "500000.00", "100000.00", 20.0),
    ]
    nation = dashboard_server.get("/views/budget_absorption", level="nation").json()["rows"]
    assert [(r["fiscal_year"], r["allocated"], r["realised"], r["absorption_pct"]) for r in nation] == [
        (2024, "200.00", "200.00", 100.0),
        (2025, "4500000.50", "3350000.50", 74.44),
    ]


def test_complaints_roll_up_keeps_suppression(dashboard_server):
    rows = dashboard_server.get("/views/complaint_service_level", level="province").json()["rows"]
    assert [(r["province_code"], r["received"], r["resolved"], r["open"], r["regions_suppressed"], r["median_resolve_hours"]) for r in rows] == [
        ("32", 32, 17, 15, 0, None),
        ("33", None, None, None, 1, None),
    ]
    nation = dashboard_server.get("/views/complaint_service_level", level="nation").json()["rows"]
    assert [(r["received"], r["resolved"], r["open"], r["suppressed"]) for r in nation] == [(None, None, None, True)]
    licensing = dashboard_server.get("/views/licensing_throughput", level="nation").json()["rows"]
    assert [(r["day"], r["applied"], r["issued"], r["rejected"], r["median_processing_hours"]) for r in licensing] == [
        ("2025-01-02", 7, 2, 3, None)
    ]


def test_unknown_view_is_404(dashboard_server):
    res = dashboard_server.get("/views/population")
    assert res.status_code == 404
    assert res.json() == {
        "detail": "unknown view 'population'; views: integration_index, budget_absorption, complaint_service_level, licensing_throughput"
    }


@pytest.mark.parametrize(
    ("view", "params", "loc", "msg"),
    [
        ("integration_index", {"province": "3x"}, ["query", "province"], "province must be a two-digit Kemendagri province code, e.g. 32"),
        ("integration_index", {"province": "99"}, ["query", "province"], "99 is not a current Kemendagri province code"),
        ("integration_index", {"region": "99.99"}, ["query", "region"], "99.99 is not a current Kemendagri region code"),
        ("integration_index", {"region": "3201"}, ["query", "region"], "3201 is not a current Kemendagri region code (did you mean 32.01?)"),
        ("integration_index", {"region": "33.01", "province": "32"}, ["query", "region"], "region 33.01 is not in province 32"),
        ("integration_index", {"region": "32.01", "level": "province"}, ["query", "region"], "a region filter applies at level=region only, not level=province"),
        ("integration_index", {"province": "32", "level": "nation"}, ["query", "province"], "a province filter does not apply at level=nation"),
        ("integration_index", {"theme": "weather"}, ["query", "theme"], None),
        ("budget_absorption", {"theme": "budgeting"}, ["query", "theme"], "a theme filter applies to integration_index only, not budget_absorption"),
    ],
)
def test_bad_filters_are_422_with_the_field_path(dashboard_server, view, params, loc, msg):
    res = dashboard_server.get(f"/views/{view}", **params)
    assert res.status_code == 422
    [detail] = res.json()["detail"]
    assert detail["loc"] == loc
    assert detail["input"] == params[loc[1]]
    if msg is not None:
        assert detail["msg"] == msg
    else:
        assert detail["msg"].startswith("unknown theme 'weather'; themes: ")


def test_bad_level_is_422_from_fastapi(dashboard_server):
    res = dashboard_server.get("/views/integration_index", level="kabupaten")
    assert res.status_code == 422
    assert [d["loc"] for d in res.json()["detail"]] == [["query", "level"]]


def test_dashboard_page_is_served(dashboard_server):
    res = dashboard_server.get("/")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    assert 'data-testid="integration-total"' in res.text and "http" not in res.text.split("<script>")[0].split("<style>")[0]


# -- access: bearer tokens with a scope -----------------------------------------------------------


def test_without_or_with_a_wrong_token_the_views_are_401_and_healthz_stays_open(dashboard_server):
    for token, detail in ((None, "missing bearer token: send 'Authorization: Bearer <token>'"),
                          ("egv_not-a-token", "invalid bearer token")):
        for path in ("/views", "/views/integration_index"):
            res = dashboard_server.get_as(token, path)
            assert (res.status_code, res.json(), res.headers["www-authenticate"]) == (401, {"detail": detail}, "Bearer")
    assert dashboard_server.get_as(None, "/healthz").status_code == 200
    assert dashboard_server.get_as(None, "/").status_code == 200


def test_a_province_32_token_gets_only_province_32s_rows_and_roll_up(dashboard_server):
    jabar = dashboard_server.tokens["province:32"]
    body = dashboard_server.get_as(jabar, "/views/integration_index").json()
    assert body["filters"]["province"] == "32"
    assert [(r["region_code"], r["theme"], r["events_total"]) for r in body["rows"]] == [
        ("32.01", "budgeting", 10), ("32.01", "complaints", 4), ("32.73", "budgeting", 6), ("32", "treasury", 2)]
    rollup = dashboard_server.get_as(jabar, "/views/integration_index", level="province").json()["rows"]
    assert [(r["province_code"], r["regions_publishing"], r["regions_total"], r["integration_pct"], r["events_total"])
            for r in rollup] == [("32", 3, 28, 10.71, 22)]
    budget = dashboard_server.get_as(jabar, "/views/budget_absorption", level="province").json()["rows"]
    assert [(r["province_code"], r["fiscal_year"], r["allocated"], r["realised"]) for r in budget] == [
        ("32", 2025, "4000000.50", "3250000.50")]
    assert dashboard_server.get_as(jabar, "/views").json()["access"] == {"scope": "province:32", "token": "bappeda-jabar"}


@pytest.mark.parametrize("params", [{"province": "33"}, {"region": "33.01"}, {"province": "33", "level": "province"}])
def test_a_province_32_token_asking_for_province_33_is_403(dashboard_server, params):
    res = dashboard_server.get_as(dashboard_server.tokens["province:32"], "/views/budget_absorption", **params)
    assert (res.status_code, res.json()) == (403, {"detail": "token bappeda-jabar may read province 32 only"})


def test_a_province_token_may_not_read_the_nation_roll_up(dashboard_server):
    res = dashboard_server.get_as(dashboard_server.tokens["province:32"], "/views/integration_index", level="nation")
    assert res.status_code == 403
    assert res.json()["detail"].startswith("token bappeda-jabar may read province 32 only: level=nation")


def test_the_start_up_line_says_tokens_are_required(dashboard_server):
    assert "dashboard: bearer tokens required: 2 from " in dashboard_server.log.read_text()
    assert "(1 nation, 1 province:32)" in dashboard_server.log.read_text()


# -- tests that change the topics: keep them last -----------------------------------------------


def test_new_rows_appear_live(dashboard_server, view_topics):
    view_topics.produce(
        {"integration_index": [ii_row("35.01", "budgeting", 7, JAN_1, JAN_1 + 4 * HOUR, 1), ii_row("32.73", "budgeting", 8, JAN_1 + 2 * HOUR, JAN_1 + 50 * HOUR, 3)]}
    )

    def nation():
        return dashboard_server.get("/views/integration_index", level="nation").json()["rows"][0]

    row = wait_until(lambda: (r := nation())["events_total"] == 36 and r, 30, "the new rows in the nation roll-up", interval=0.2)
    assert (row["regions_publishing"], row["integration_pct"], row["events_total"]) == (5, 0.91, 36)
    [new] = dashboard_server.get("/views/integration_index", region="35.01").json()["rows"]
    assert (new["region_name"], new["province_code"], new["events_total"]) == ("Kabupaten Pacitan", "35", 7)


def test_undecodable_view_records_are_counted_not_fatal(dashboard_server, view_topics):
    # (A compacted topic refuses records without a key, so the broker already rules that case out.)
    view_topics.produce_raw("budget_absorption", "32.01|2026", b"not avro at all")
    view_topics.produce_raw("budget_absorption", "32.01|2027", b"\x00\x7f\xff\xff\xf0" + b"\x02")
    health = wait_until(lambda: (h := dashboard_server.get("/healthz").json())["decode_errors"] == 2 and h, 30, "two decode errors")
    assert health["status"] == "ok" and "UnknownSchemaError" in health["last_decode_error"]
    assert dashboard_server.get("/views/budget_absorption").json()["count"] == 4


def test_healthz_is_503_until_the_topics_exist_and_stop_is_clean(stack_settings, admin, registry, tmp_path):
    topics = ViewTopics(stack_settings, admin, registry)  # named, not created yet
    server = DashboardServer(stack_settings, topics.prefix, tmp_path / "dashboard.log", public=True)
    try:

        def loading():
            try:
                res = server.get("/healthz")
            except httpx.HTTPError:
                return None
            return res if res.status_code == 503 and "does not exist" in (res.json()["error"] or "") else None

        res = wait_until(loading, 30, "healthz 503 while the view topics are missing", interval=0.2)
        assert (res.json()["status"], res.json()["ready"]) == ("loading", False)
        assert server.get("/views/integration_index").status_code == 503
        topics.create(partitions=1)
        wait_until(server.healthy, 30, "healthz 200 once the topics exist", interval=0.2)
        assert server.get("/views/integration_index").json()["rows"] == []
        assert server.get("/views").json()["access"] == {"scope": "public", "token": None}
    finally:
        assert server.stop() == 0, server.log.read_text()
        topics.delete()
    log = server.log.read_text()
    assert "dashboard: serving WITHOUT access control (--public)" in log
    assert "dashboard stopped" in log and "Traceback" not in log
