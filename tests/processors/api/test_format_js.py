"""The dashboard's number, rupiah, date and time formatting (processors/api/static/format.js), evaluated in headless Chromium.

The formatting lives in one place, the page's own script; these tests run exactly that file in a
blank page (no server, no broker) and compare what it writes, in Bahasa Indonesia and in English.
"""

from __future__ import annotations

import json
from importlib import resources

import pytest

from tests.fixtures.chromium import DevTools


@pytest.fixture(scope="module")
def fmt(tmp_path_factory):
    browser = DevTools(tmp_path_factory.mktemp("format-js") / "profile")
    try:
        browser.open("about:blank")
        source = resources.files("processors.api").joinpath("static", "format.js").read_text(encoding="utf-8")
        browser.evaluate(source)

        def call(name: str, *args):
            return browser.evaluate(f"EgovFormat.{name}(...{json.dumps(list(args))})")

        yield call
    finally:
        browser.close()


@pytest.mark.parametrize(("amount", "id_text", "en_text"), [
    ("1500000.50", "Rp 1.500.000,50", "Rp 1,500,000.50"),
    ("4000000.00", "Rp 4.000.000", "Rp 4,000,000"),  # no ",00": officials write whole rupiah without sen
    ("999.5", "Rp 999,50", "Rp 999.50"),
    ("0.00", "Rp 0", "Rp 0"),
    ("-2500.75", "-Rp 2.500,75", "-Rp 2,500.75"),
    ("123456789012345678.25", "Rp 123.456.789.012.345.678,25", "Rp 123,456,789,012,345,678.25"),  # exact: no float
])
def test_rupiah_exact(fmt, amount, id_text, en_text):
    assert (fmt("rupiah", amount, "id"), fmt("rupiah", amount, "en")) == (id_text, en_text)


@pytest.mark.parametrize(("amount", "id_text", "en_text"), [
    ("4500000000", "Rp 4,5 miliar", "Rp 4.5 billion"),
    ("4500000.50", "Rp 4,5 juta", "Rp 4.5 million"),
    ("3250000.50", "Rp 3,25 juta", "Rp 3.25 million"),
    ("1200000000000", "Rp 1,2 triliun", "Rp 1.2 trillion"),
    ("1000000", "Rp 1 juta", "Rp 1 million"),
    ("999999.50", "Rp 999.999,50", "Rp 999,999.50"),  # below a million: the exact amount
])
def test_rupiah_as_a_headline(fmt, amount, id_text, en_text):
    assert (fmt("rupiahShort", amount, "id"), fmt("rupiahShort", amount, "en")) == (id_text, en_text)


@pytest.mark.parametrize(("value", "id_text", "en_text"), [
    (1234567.891, "1.234.567,89", "1,234,567.89"),
    (552, "552", "552"),
    (0.5, "0,5", "0.5"),
    (-0.001, "0", "0"),
    (None, "–", "–"),
])
def test_numbers(fmt, value, id_text, en_text):
    assert (fmt("number", value, "id"), fmt("number", value, "en")) == (id_text, en_text)


def test_percentages(fmt):
    assert [fmt("percent", v, lang) for v in (10.71, 20, 0.72) for lang in ("id", "en")] == [
        "10,71%", "10.71%", "20%", "20%", "0,72%", "0.72%"]


@pytest.mark.parametrize(("province", "zone", "id_text", "en_text"), [
    ("32", "WIB", "1 Jan 2025 13.00 WIB", "1 Jan 2025 13:00 WIB"),      # Jawa Barat
    ("61", "WIB", "1 Jan 2025 13.00 WIB", "1 Jan 2025 13:00 WIB"),      # Kalimantan Barat
    ("51.71", "WITA", "1 Jan 2025 14.00 WITA", "1 Jan 2025 14:00 WITA"),  # Kota Denpasar, Bali
    ("64", "WITA", "1 Jan 2025 14.00 WITA", "1 Jan 2025 14:00 WITA"),    # Kalimantan Timur
    ("73", "WITA", "1 Jan 2025 14.00 WITA", "1 Jan 2025 14:00 WITA"),    # Sulawesi Selatan
    ("81", "WIT", "1 Jan 2025 15.00 WIT", "1 Jan 2025 15:00 WIT"),       # Maluku
    ("95", "WIT", "1 Jan 2025 15.00 WIT", "1 Jan 2025 15:00 WIT"),       # Papua Pegunungan
    (None, "WIB", "1 Jan 2025 13.00 WIB", "1 Jan 2025 13:00 WIB"),       # nation-wide: the capital's time
])
def test_times_in_the_regions_zone(fmt, province, zone, id_text, en_text):
    assert fmt("zoneOf", province)["name"] == zone
    instant = "2025-01-01T06:00:00.000Z"
    assert (fmt("dateTime", instant, "id", province), fmt("dateTime", instant, "en", province)) == (id_text, en_text)


def test_a_time_past_midnight_in_the_east_is_the_next_day(fmt):
    assert fmt("dateTime", "2025-12-31T20:30:00Z", "id", "94") == "1 Jan 2026 05.30 WIT"


def test_days_months_and_ages(fmt):
    assert [fmt("day", "2025-05-02", lang) for lang in ("id", "en")] == ["2 Mei 2025", "2 May 2025"]
    assert [fmt("month", "2025-08", lang) for lang in ("id", "en")] == ["Agustus 2025", "August 2025"]
    assert [fmt("age", s, lang) for s in (42, 90, 7200, 259200) for lang in ("id", "en")] == [
        "42 detik", "42 s", "2 menit", "2 min", "2 jam", "2 h", "3 hari", "3 d"]
