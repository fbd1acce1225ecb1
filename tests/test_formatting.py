"""Opening times and dates in the customer's language, with the zone as locals write it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from responder.core.formatting import (
    format_clock,
    format_date,
    format_opening,
    weekday_name,
    zone_abbreviation,
)

JAKARTA = ZoneInfo("Asia/Jakarta")
NOW = datetime(2025, 11, 21, 18, 30, tzinfo=JAKARTA)
MONDAY_8 = datetime(2025, 11, 24, 8, 0, tzinfo=JAKARTA)


def test_house_style_in_both_languages() -> None:
    assert format_opening(MONDAY_8, "id", NOW) == "Senin, 24 November pukul 08.00 WIB"
    assert format_opening(MONDAY_8, "en", NOW) == "Monday 24 November at 08:00 WIB"


@pytest.mark.parametrize(
    "zone, month, expected",
    [
        ("Asia/Makassar", 11, "Monday 24 November at 08:00 WITA"),
        ("Asia/Jayapura", 11, "Monday 24 November at 08:00 WIT"),
        ("Europe/Amsterdam", 11, "Monday 24 November at 08:00 CET"),
        ("Europe/Amsterdam", 6, "Tuesday 24 June at 08:00 CEST"),
        # The tz database names some zones only "+07": say it as customers would read it.
        ("Asia/Ho_Chi_Minh", 11, "Monday 24 November at 08:00 UTC+7"),
        ("Asia/Kathmandu", 11, "Monday 24 November at 08:00 UTC+5:45"),
        ("UTC", 11, "Monday 24 November at 08:00 UTC"),
    ],
)
def test_zone_abbreviations(zone: str, month: int, expected: str) -> None:
    t = datetime(2025, month, 24, 8, 0, tzinfo=ZoneInfo(zone))
    assert format_opening(t, "en", NOW) == expected


def test_indonesian_zones_in_indonesian() -> None:
    t = datetime(2025, 11, 25, 9, 30, tzinfo=ZoneInfo("Asia/Makassar"))
    assert format_opening(t, "id", NOW) == "Selasa, 25 November pukul 09.30 WITA"
    assert zone_abbreviation(t.replace(tzinfo=ZoneInfo("Asia/Jayapura"))) == "WIT"


def test_year_shown_only_outside_the_current_year() -> None:
    new_year = datetime(2026, 1, 2, 8, 0, tzinfo=JAKARTA)
    eve = datetime(2025, 12, 31, 17, 0, tzinfo=JAKARTA)
    assert format_opening(new_year, "id", eve) == "Jumat, 2 Januari 2026 pukul 08.00 WIB"
    assert format_opening(new_year, "en", eve) == "Friday 2 January 2026 at 08:00 WIB"
    # "Now" is read in the opening's zone: 18:00 UTC on 31 December is already 2026 in Jakarta.
    utc_eve = datetime(2025, 12, 31, 18, 0, tzinfo=UTC)
    assert format_opening(new_year, "en", utc_eve) == "Friday 2 January at 08:00 WIB"
    # A naive "now" is taken to be in the opening's zone.
    assert format_opening(new_year, "en", datetime(2026, 1, 1, 9)) == (
        "Friday 2 January at 08:00 WIB"
    )


def test_default_now_is_the_present() -> None:
    soon = datetime.now(JAKARTA).replace(hour=8, minute=0, second=0, microsecond=0)
    assert str(soon.year) not in format_opening(soon, "en")


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        format_opening(datetime(2025, 11, 24, 8, 0), "en", NOW)


def test_region_tags_and_unknown_languages() -> None:
    assert format_opening(MONDAY_8, "id-ID", NOW) == "Senin, 24 November pukul 08.00 WIB"
    assert format_opening(MONDAY_8, "en_GB", NOW) == "Monday 24 November at 08:00 WIB"
    # An unknown language never breaks a reply: English house style.
    assert format_opening(MONDAY_8, "xx", NOW) == "Monday 24 November at 08:00 WIB"
    # Another language Babel knows gets CLDR's own full date.
    assert format_opening(MONDAY_8, "nl", NOW) == "maandag 24 november 2025 08:00 WIB"


def test_format_date() -> None:
    idul_fitri = date(2026, 3, 20)
    assert format_date(idul_fitri, "id", date(2026, 1, 5)) == "Jumat, 20 Maret"
    assert format_date(idul_fitri, "en", date(2026, 1, 5)) == "Friday 20 March"
    assert format_date(idul_fitri, "id", date(2025, 12, 30)) == "Jumat, 20 Maret 2026"
    assert format_date(idul_fitri, "en", date(2025, 12, 30)) == "Friday 20 March 2026"
    assert format_date(MONDAY_8, "en", date(2025, 1, 1)) == "Monday 24 November"


def test_clock_and_weekday_for_an_hours_table() -> None:
    assert format_clock(time(8, 0), "id") == "08.00"
    assert format_clock(time(17, 30), "en") == "17:30"
    assert [weekday_name(day, "id") for day in (0, 6)] == ["Senin", "Minggu"]
    assert [weekday_name(day, "en") for day in (0, 6)] == ["Monday", "Sunday"]
