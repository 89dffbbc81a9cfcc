"""Who reads what through the views API: bearer tokens and their scopes, over a store holding the seeded rows (unit).

The store is a real :class:`ViewStore` fed the records of ``tests/fixtures/views_api.py``'s ``SEED``
through its record handler (no broker); the app is the real one, called with FastAPI's TestClient.
"""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from processors.api.access import TokenStore, hash_token
from processors.api.app import create_app
from processors.api.store import ViewStore
from schemas.topic_names import view_topic
from tests.fixtures.views_api import SEED

JABAR, JATENG, NATION = "egv_jabar-token", "egv_jateng-token", "egv_nation-token"
JAN_1_ISO = "2025-01-01T00:00:00.000Z"
TIMESTAMPS = ("first_seen", "last_seen")


class Record:
    def __init__(self, topic: str, offset: int, key: str, value: dict | None) -> None:
        self._t, self._o, self._k, self._v = topic, offset, key.encode(), value

    def topic(self): return self._t
    def partition(self): return 0
    def offset(self): return self._o
    def key(self): return self._k
    def value(self): return None if self._v is None else b"row"
    def error(self): return None
    def timestamp(self): return (0, -1)  # TIMESTAMP_NOT_AVAILABLE: the store falls back to its clock


def seeded_store() -> ViewStore:
    store = ViewStore(SimpleNamespace(request_timeout_s=1.0), prefix="t")
    for view, records in SEED.items():
        topic = view_topic(view, "t")
        for offset, (key, row) in enumerate(records):
            # The registry serde decodes timestamp-millis fields to datetimes.
            value = None if row is None else {
                k: datetime.fromtimestamp(v / 1000, timezone.utc) if k in TIMESTAMPS else v for k, v in row.items()}
            assert store._apply(Record(topic, offset, key, value), lambda _data, _topic, v=value: SimpleNamespace(value=v))
    store._ready.set()  # every partition read up to its end
    return store


def token_store() -> TokenStore:
    tokens = TokenStore()
    tokens.add(hash_token(JABAR), "bappeda-jabar", "province:32")
    tokens.add(hash_token(JATENG), "bappeda-jateng", "province:33")
    tokens.add(hash_token(NATION), "kemendagri", "nation")
    return tokens


@pytest.fixture(scope="module")
def store() -> ViewStore:
    return seeded_store()


@pytest.fixture(scope="module")
def client(store) -> TestClient:
    return TestClient(create_app(store, tokens=token_store(), manage_store=False))


def get(client: TestClient, path: str, token: str | None = None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, params=params, headers=headers)


# -- 401 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/views", "/views/integration_index", "/views/budget_absorption", "/views/population"])
@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "missing bearer token: send 'Authorization: Bearer <token>'"),
        ({"Authorization": "Bearer egv_wrong"}, "invalid bearer token"),
        ({"Authorization": f"Bearer {hash_token(NATION)}"}, "invalid bearer token"),
        ({"Authorization": f"Basic {NATION}"}, "the Authorization header must be 'Bearer <token>'"),
        ({"Authorization": "Bearer "}, "the Authorization header must be 'Bearer <token>'"),
    ],
)
def test_no_or_a_wrong_token_is_401_with_a_bearer_challenge(client, path, headers, detail):
    res = client.get(path, headers=headers)
    assert res.status_code == 401
    assert res.json() == {"detail": detail}
    assert res.headers["www-authenticate"] == "Bearer"


def test_healthz_and_the_page_need_no_token(client):
    assert client.get("/healthz").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and 'data-testid="token-input"' in page.text


# -- a province:32 token ---------------------------------------------------------------------


def test_a_province_token_gets_only_its_provinces_region_rows(client):
    body = get(client, "/views/integration_index", JABAR).json()
    body.pop("updated_at")
    assert body == {
        "view": "integration_index",
        "key": ["region_code", "theme"],
        "level": "region",
        "filters": {"province": "32", "region": None, "theme": None},
        "count": 4,
        "rows": [
            {"region_code": "32.01", "region_name": "Kabupaten Bogor", "province_code": "32", "theme": "budgeting",
             "events_total": 10, "first_seen": JAN_1_ISO, "last_seen": "2025-01-02T06:00:00.000Z", "active_days": 2,
             "events_per_day": 5.0},
            {"region_code": "32.01", "region_name": "Kabupaten Bogor", "province_code": "32", "theme": "complaints",
             "events_total": 4, "first_seen": "2025-01-01T01:00:00.000Z", "last_seen": "2025-01-01T02:00:00.000Z",
             "active_days": 1, "events_per_day": 4.0},
            {"region_code": "32.73", "region_name": "Kota Bandung", "province_code": "32", "theme": "budgeting",
             "events_total": 6, "first_seen": "2025-01-01T02:00:00.000Z", "last_seen": "2025-01-03T02:00:00.000Z",
             "active_days": 3, "events_per_day": 2.0},
            {"region_code": "32", "region_name": "Jawa Barat", "province_code": "32", "theme": "treasury",
             "events_total": 2, "first_seen": JAN_1_ISO, "last_seen": "2025-01-01T01:00:00.000Z", "active_days": 1,
             "events_per_day": 2.0},
        ],
    }
    # The same with the province named, and with one of its own regions.
    assert get(client, "/views/integration_index", JABAR, province="32").json()["rows"] == body["rows"]
    assert [r["theme"] for r in get(client, "/views/integration_index", JABAR, region="32.01").json()["rows"]] == [
        "budgeting", "complaints"]
    budget = get(client, "/views/budget_absorption", JABAR).json()["rows"]
    assert [(r["region_code"], r["fiscal_year"], r["allocated"]) for r in budget] == [
        ("32.01", 2025, "1000000.00"), ("32.73", 2025, "3000000.50")]


def test_a_province_token_gets_only_its_provinces_roll_up(client):
    body = get(client, "/views/integration_index", JABAR, level="province").json()
    assert (body["filters"], body["count"]) == ({"province": "32", "region": None, "theme": None}, 1)
    assert body["rows"] == [
        {"level": "province", "province_code": "32", "province_name": "Jawa Barat", "regions_total": 28,
         "regions_publishing": 3, "integration_pct": 10.71, "themes_published": 3, "events_total": 22,
         "first_seen": JAN_1_ISO, "last_seen": "2025-01-03T02:00:00.000Z"},
    ]
    budget = get(client, "/views/budget_absorption", JABAR, level="province").json()["rows"]
    assert [(r["province_code"], r["fiscal_year"], r["regions"], r["allocated"], r["realised"], r["absorption_pct"])
            for r in budget] == [("32", 2025, 2, "4000000.50", "3250000.50", 81.25)]
    complaints = get(client, "/views/complaint_service_level", JABAR, level="province").json()["rows"]
    assert [(r["province_code"], r["received"], r["resolved"], r["open"]) for r in complaints] == [("32", 32, 17, 15)]


@pytest.mark.parametrize(
    "params",
    [
        {"province": "33"},
        {"province": "33", "level": "province"},
        {"region": "33.01"},
        {"region": "33"},
        {"region": "34.01", "theme": "budgeting"},
    ],
)
def test_a_province_token_asking_for_another_province_is_403(client, params):
    res = get(client, "/views/integration_index", JABAR, **params)
    assert res.status_code == 403
    assert res.json() == {"detail": "token bappeda-jabar may read province 32 only"}


def test_a_province_token_asking_for_the_nation_roll_up_is_403(client):
    res = get(client, "/views/budget_absorption", JABAR, level="nation")
    assert res.status_code == 403
    assert res.json() == {"detail": "token bappeda-jabar may read province 32 only: level=nation rolls up every "
                                    "province (ask for level=province&province=32)"}


def test_bad_filters_are_still_422_and_unknown_views_404_for_a_province_token(client):
    # The filter is checked before the scope: a malformed code is a 422 whoever asks.
    res = get(client, "/views/integration_index", JABAR, province="99")
    assert (res.status_code, res.json()["detail"][0]["msg"]) == (422, "99 is not a current Kemendagri province code")
    assert get(client, "/views/population", JABAR).status_code == 404


def test_the_other_province_token_gets_its_own_rows(client):
    rows = get(client, "/views/budget_absorption", JATENG).json()["rows"]
    assert [(r["region_code"], r["fiscal_year"]) for r in rows] == [("33.01", 2024), ("33.01", 2025)]
    assert get(client, "/views/budget_absorption", JATENG, region="32.01").json() == {
        "detail": "token bappeda-jateng may read province 33 only"}


def test_views_list_counts_only_the_tokens_province_and_says_who_is_asking(client):
    body = get(client, "/views", JABAR).json()
    assert [(v["name"], v["rows"]) for v in body["views"]] == [
        ("integration_index", 4), ("budget_absorption", 2), ("complaint_service_level", 2), ("licensing_throughput", 2)]
    assert body["levels"] == ["region", "province"]
    assert body["access"] == {"scope": "province:32", "token": "bappeda-jabar"}


# -- a nation token, and --public --------------------------------------------------------------


def test_a_nation_token_sees_every_row_and_the_nation_roll_up(client, store):
    body = get(client, "/views/integration_index", NATION).json()
    assert (body["filters"]["province"], [r["region_code"] for r in body["rows"]]) == (
        None, ["32.01", "32.01", "32.73", "32", "33.01"])
    nation = get(client, "/views/integration_index", NATION, level="nation").json()["rows"]
    assert [(r["regions_publishing"], r["regions_total"], r["events_total"]) for r in nation] == [(4, 552, 27)]
    assert [r["province_code"] for r in get(client, "/views/budget_absorption", NATION, level="province").json()["rows"]] == [
        "32", "33", "33"]
    assert get(client, "/views/integration_index", NATION, province="33").json()["count"] == 1
    listing = get(client, "/views", NATION).json()
    assert [v["rows"] for v in listing["views"]] == [5, 4, 3, 2] == list(store.status()["rows"].values())
    assert listing["access"] == {"scope": "nation", "token": "kemendagri"}


def test_a_public_app_serves_everything_without_a_token(store):
    public = TestClient(create_app(store, tokens=None, manage_store=False))
    assert get(public, "/views/integration_index", level="nation").json()["rows"][0]["events_total"] == 27
    # A token sent anyway (a browser that kept one) changes nothing.
    assert get(public, "/views/integration_index", "egv_whatever", province="33").json()["count"] == 1
    assert get(public, "/views").json()["access"] == {"scope": "public", "token": None}
