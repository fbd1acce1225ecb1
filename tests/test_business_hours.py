"""Tests for the business calendar and its config: hours, holidays, closures, DST, errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from responder.config import load_config_text
from responder.config.calendar import BusinessHoursConfig, build_calendar
from responder.config.problems import ConfigSource, problems_from
from responder.config.types import FrozenModel
from responder.config.yamlload import load_yaml
from responder.domain.calendar import BusinessCalendar, Closure
from responder.errors import ConfigError

JAKARTA = ZoneInfo("Asia/Jakarta")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# The documented example, plus a Ramadan special and a named closure.
DESK = """\
business_hours:
  timezone: Asia/Jakarta
  weekly:
    mon: ["08:00-12:00", "13:00-17:00"]
    tue: ["08:00-17:00"]
    wed: ["08:00-17:00"]
    thu: ["08:00-17:00"]
    fri: ["08:00-11:30", "13:30-17:00"]
    sat: ["09:00-14:00"]
  holidays: {country: ID}
  closed:
    - "2026-12-24"
    - 2026-12-31
    - 2026-10-05..2026-10-06
    - {from: 2026-08-10, to: 2026-08-12, name: Stocktaking}
  special:
    - name: Ramadan
      from: 2027-02-08
      to: 2027-03-09
      weekly:
        mon: ["08:00-15:00"]
        tue: ["08:00-15:00"]
        wed: ["08:00-15:00"]
        thu: ["08:00-15:00"]
        fri: ["08:00-11:00", "13:30-15:00"]
"""


def calendar_from(text: str, default_tz: str = "UTC") -> BusinessCalendar:
    data, _ = load_yaml(text, "config.yaml")
    return build_calendar(BusinessHoursConfig.model_validate(data["business_hours"]), default_tz)


def calendar(data: dict[str, Any], default_tz: str = "UTC") -> BusinessCalendar:
    return build_calendar(BusinessHoursConfig.model_validate(data), default_tz)


def local(text: str, zone: ZoneInfo = JAKARTA, fold: int = 0) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone, fold=fold)


@pytest.fixture(scope="module")
def desk() -> BusinessCalendar:
    return calendar_from(DESK)


OUTSIDE = Closure("outside-hours")


@pytest.mark.parametrize(
    ("when", "next_open", "closure"),
    [
        pytest.param("2026-03-10T12:00", "2026-03-10T12:00", None, id="weekday-noon-open"),
        pytest.param("2026-03-09T12:30", "2026-03-09T13:00", OUTSIDE, id="lunch-break"),
        pytest.param("2026-03-06T12:00", "2026-03-06T13:30", OUTSIDE, id="friday-prayer-break"),
        pytest.param("2026-03-06T17:00", "2026-03-07T09:00", OUTSIDE, id="end-is-exclusive"),
        pytest.param("2026-03-07T20:00", "2026-03-09T08:00", OUTSIDE, id="saturday-night"),
        pytest.param("2026-05-30T15:00", "2026-06-02T08:00", OUTSIDE, id="long-weekend"),
        pytest.param(
            "2026-06-01T10:00",
            "2026-06-02T08:00",
            Closure("holiday", "Hari Lahir Pancasila"),
            id="holiday-monday",
        ),
        pytest.param(
            "2027-03-10T10:00",
            "2027-03-12T08:00",  # 1 and 2 Syawal are holidays; cuti bersama is off
            Closure("holiday", "Hari Raya Idul Fitri"),
            id="1-syawal-2027",
        ),
        pytest.param(
            "2026-12-31T23:59",
            "2027-01-02T09:00",  # New Year's Day is a Friday holiday
            Closure("closed"),
            id="31-december-23:59",
        ),
        pytest.param("2026-12-24T10:00", "2026-12-26T09:00", Closure("closed"), id="closed-date"),
        pytest.param("2026-10-06T10:00", "2026-10-07T08:00", Closure("closed"), id="closed-range"),
        pytest.param(
            "2026-08-11T10:00",
            "2026-08-13T08:00",
            Closure("closed", "Stocktaking"),
            id="closed-named",
        ),
        pytest.param("2027-02-16T10:00", "2027-02-16T10:00", None, id="ramadan-morning"),
        pytest.param("2027-02-16T16:00", "2027-02-17T08:00", OUTSIDE, id="ramadan-afternoon"),
        pytest.param("2027-02-19T11:15", "2027-02-19T13:30", OUTSIDE, id="ramadan-friday"),
        pytest.param("2027-02-20T10:00", "2027-02-22T08:00", OUTSIDE, id="ramadan-saturday"),
        pytest.param("2027-03-09T16:00", "2027-03-12T08:00", OUTSIDE, id="ramadan-last-day"),
    ],
)
def test_jakarta_desk(
    desk: BusinessCalendar, when: str, next_open: str, closure: Closure | None
) -> None:
    t = local(when)
    assert desk.is_open(t) is (closure is None)
    assert desk.next_open(t) == local(next_open)
    assert desk.closed_because(t) == closure


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        pytest.param("2026-03-10T09:00", 60, "2026-03-10T10:00", id="within-a-period"),
        pytest.param("2026-03-09T11:30", 60, "2026-03-09T13:30", id="across-lunch"),
        pytest.param("2026-03-09T11:00", 60, "2026-03-09T12:00", id="ends-at-period-end"),
        pytest.param("2026-03-06T11:00", 60, "2026-03-06T14:00", id="across-friday-prayer"),
        pytest.param("2026-03-07T13:30", 60, "2026-03-09T08:30", id="across-weekend"),
        pytest.param("2026-03-06T16:30", 360, "2026-03-09T08:30", id="friday-to-monday"),
        pytest.param("2026-05-30T13:00", 120, "2026-06-02T09:00", id="across-holiday-monday"),
        pytest.param("2026-03-08T10:00", 0, "2026-03-09T08:00", id="zero-from-closed"),
        pytest.param("2026-03-10T09:00", 0.5, "2026-03-10T09:00:30", id="fractional"),
        pytest.param("2027-02-16T14:00", 120, "2027-02-17T09:00", id="ramadan-hours"),
    ],
)
def test_add_business_minutes(desk: BusinessCalendar, start: str, minutes: float, due: str) -> None:
    assert desk.add_business_minutes(local(start), minutes) == local(due)


def test_holiday_names_and_language() -> None:
    desk = calendar_from(DESK)
    assert desk.holiday_name(date(2027, 3, 10)) == "Hari Raya Idul Fitri"
    assert desk.holiday_name(date(2027, 3, 9)) is None
    english = calendar(
        {"weekly": {"mon": "08:00-17:00"}, "holidays": {"country": "ID", "language": "en"}}
    )
    assert english.holiday_name(date(2026, 1, 1)) == "New Year's Day"


@pytest.mark.parametrize(("cuti_bersama", "is_open"), [(False, True), (True, False)])
def test_cuti_bersama_only_when_asked(cuti_bersama: bool, is_open: bool) -> None:
    cal = calendar(
        {
            "timezone": "Asia/Jakarta",
            "weekly": {"mon": ["08:00-17:00"]},
            "holidays": {"country": "ID", "cuti_bersama": cuti_bersama, "language": "id"},
        }
    )
    t = local("2026-03-23T10:00")  # a Monday of joint leave after Idul Fitri 2026
    assert cal.is_open(t) is is_open
    expected = None if is_open else Closure("holiday", "Cuti Bersama Hari Raya Idul Fitri")
    assert cal.closed_because(t) == expected


NIGHT = {"weekly": {"fri": ["20:00-02:00"], "sat": ["20:00-02:00"]}, "closed": ["2026-03-14"]}


@pytest.mark.parametrize(
    ("when", "next_open", "closure"),
    [
        pytest.param("2026-03-06T23:00", "2026-03-06T23:00", None, id="before-midnight"),
        pytest.param("2026-03-07T01:30", "2026-03-07T01:30", None, id="after-midnight"),
        pytest.param("2026-03-07T02:00", "2026-03-07T20:00", OUTSIDE, id="end"),
        pytest.param("2026-03-06T19:00", "2026-03-06T20:00", OUTSIDE, id="before"),
        pytest.param(
            "2026-03-15T01:00", "2026-03-20T20:00", Closure("closed"), id="closed-day-carries"
        ),
    ],
)
def test_past_midnight_period(when: str, next_open: str, closure: Closure | None) -> None:
    cal = calendar(NIGHT, "Asia/Jakarta")
    t = local(when)
    assert cal.is_open(t) is (closure is None)
    assert cal.next_open(t) == local(next_open)
    assert cal.closed_because(t) == closure
    assert cal.add_business_minutes(local("2026-03-06T23:00"), 240) == local("2026-03-07T21:00")


def amsterdam(week: dict[str, Any]) -> BusinessCalendar:
    return calendar({"timezone": "Europe/Amsterdam", "weekly": week}, "Asia/Jakarta")


# 2026 in Europe/Amsterdam: clocks go 02:00 -> 03:00 on 29 March, 03:00 -> 02:00 on 25 October.
@pytest.mark.parametrize(
    ("week", "when", "fold", "expected"),
    [
        pytest.param(
            {"sun": "02:00-03:00"},
            "2026-03-28T12:00",
            0,
            "2026-04-05T02:00+02:00",
            id="skipped-hour-never-opens",
        ),
        pytest.param(
            {"sun": "02:30-04:00"},
            "2026-03-29T00:00",
            0,
            "2026-03-29T03:00+02:00",
            id="skipped-start-opens-at-the-jump",
        ),
        pytest.param(
            {"sat": "22:00-06:00"},
            "2026-03-29T06:30",
            0,
            "2026-04-04T22:00+02:00",
            id="overnight-after-spring",
        ),
        pytest.param(
            {"sun": "02:00-03:00"},
            "2026-10-25T01:30",
            0,
            "2026-10-25T02:00+02:00",
            id="repeated-hour-first-start",
        ),
        pytest.param(
            {"sun": "02:00-03:00"},
            "2026-10-25T02:30",
            1,
            "2026-10-25T02:30+01:00",
            id="repeated-hour-second-time-open",
        ),
        pytest.param(
            {"sun": "02:00-03:00"},
            "2026-10-25T03:00",
            0,
            "2026-11-01T02:00+01:00",
            id="repeated-hour-end",
        ),
    ],
)
def test_dst_next_open(week: dict[str, Any], when: str, fold: int, expected: str) -> None:
    result = amsterdam(week).next_open(local(when, AMSTERDAM, fold))
    assert result is not None
    assert result.astimezone(UTC) == datetime.fromisoformat(expected).astimezone(UTC)


@pytest.mark.parametrize(
    ("week", "start", "minutes", "due"),
    [
        pytest.param(
            {"sat": "22:00-06:00"},
            "2026-03-28T22:00",
            7 * 60,
            "2026-03-29T06:00+02:00",
            id="spring-night-is-7-hours",
        ),
        pytest.param(
            {"sat": "22:00-06:00"},
            "2026-03-28T22:00",
            8 * 60,
            "2026-04-04T23:00+02:00",
            id="spring-night-then-next-week",
        ),
        pytest.param(
            {"sat": "22:00-06:00"},
            "2026-10-24T22:00",
            9 * 60,
            "2026-10-25T06:00+01:00",
            id="autumn-night-is-9-hours",
        ),
        pytest.param(
            {"sun": "02:00-03:00"},
            "2026-10-25T02:00",
            90,
            "2026-10-25T02:30+01:00",
            id="repeated-hour-counts-twice",
        ),
        pytest.param(
            {"fri": "09:00-17:00", "mon": "09:00-17:00"},
            "2026-03-27T16:00",
            120,
            "2026-03-30T10:00+02:00",
            id="weekend-with-the-change",
        ),
    ],
)
def test_dst_add_business_minutes(week: dict[str, Any], start: str, minutes: int, due: str) -> None:
    result = amsterdam(week).add_business_minutes(local(start, AMSTERDAM), minutes)
    assert result.astimezone(UTC) == datetime.fromisoformat(due).astimezone(UTC)
    assert result.tzinfo is AMSTERDAM


def test_repeated_hour_is_open_both_times() -> None:
    cal = amsterdam({"sun": "02:00-03:00"})
    assert cal.is_open(local("2026-10-25T02:30", AMSTERDAM, fold=0))
    assert cal.is_open(local("2026-10-25T02:30", AMSTERDAM, fold=1))
    assert not cal.is_open(local("2026-10-25T03:00", AMSTERDAM))


def test_always_open_without_config() -> None:
    cal = build_calendar(None, "Europe/Amsterdam")
    t = local("2026-03-28T12:00", AMSTERDAM)
    assert cal.timezone == AMSTERDAM
    assert cal.is_open(t) and cal.next_open(t) == t and cal.closed_because(t) is None
    assert cal.period_key(t) == "open"
    # A day of open time across spring-forward is 24 real hours: 13:00 on the wall.
    due = cal.add_business_minutes(t, 24 * 60)
    assert due.astimezone(UTC) == datetime(2026, 3, 29, 11, 0, tzinfo=UTC)
    assert [str(p) for p in cal.week[0]] == ["00:00-24:00"]


def test_never_open() -> None:
    cal = BusinessCalendar(JAKARTA, ((),) * 7)
    t = local("2026-03-10T12:00")
    assert cal.next_open(t) is None and cal.period_key(t) == "never"
    with pytest.raises(ValueError, match="no open time"):
        cal.add_business_minutes(t, 1)


def test_period_key_names_one_closed_period(desk: BusinessCalendar) -> None:
    evening, night, sunday = (
        local(s) for s in ("2026-03-07T15:00", "2026-03-08T03:00", "2026-03-08T22:00")
    )
    assert desk.period_key(evening) == desk.period_key(night) == desk.period_key(sunday)
    assert desk.period_key(evening) == "2026-03-09T08:00:00+07:00"
    assert desk.period_key(local("2026-03-09T12:30")) == "2026-03-09T13:00:00+07:00"


def test_rejects_naive_time_and_negative_minutes(desk: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="aware"):
        desk.is_open(datetime(2026, 3, 10, 12, 0))
    with pytest.raises(ValueError, match=">= 0"):
        desk.add_business_minutes(local("2026-03-10T12:00"), -1)


def test_timezone_defaults_to_top_level() -> None:
    assert calendar({"weekly": {"mon": "08:00-17:00"}}, "Asia/Jakarta").timezone == JAKARTA


WEEK = {"mon": ["08:00-12:00"]}


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"weekly": {"mon": ["8-12"]}}, ("weekly", "mon", 0), "expected a period like 08:00-12:00"),
        ({"weekly": {"mon": ["25:00-26:00"]}}, ("weekly", "mon", 0), "expected times 00:00-23:59"),
        ({"weekly": {"mon": ["08:00-08:00"]}}, ("weekly", "mon", 0), "whole day: 00:00-24:00"),
        (
            {"weekly": {"mon": ["08:00-12:00", "11:00-13:00"]}},
            ("weekly", "mon"),
            "periods 08:00-12:00 and 11:00-13:00 overlap",
        ),
        ({"weekly": {"monday": ["08:00-12:00"]}}, ("weekly", "monday"), "Extra inputs"),
        ({"weekly": {}}, ("weekly",), "no open hours on any day"),
        ({"weekly": WEEK, "timezone": "Mars/Base"}, ("timezone",), 'unknown timezone "Mars/Base"'),
        (
            {"weekly": WEEK, "holidays": {"country": "XX"}},
            ("holidays", "country"),
            'unknown country "XX"',
        ),
        (
            {"weekly": WEEK, "holidays": {"country": "ID", "subdivision": "JK"}},
            ("holidays", "subdivision"),
            'unknown subdivision "JK" of ID (expected none: leave it out)',
        ),
        (
            {"weekly": WEEK, "holidays": {"country": "NL", "cuti_bersama": True}},
            ("holidays", "cuti_bersama"),
            "country ID only",
        ),
        (
            {"weekly": WEEK, "holidays": {"country": "ID", "language": "fr"}},
            ("holidays", "language"),
            "expected one of: en_US, id, th, uk",
        ),
        ({"weekly": WEEK, "closed": ["2026-13-01"]}, ("closed", 0), 'got "2026-13-01"'),
        ({"weekly": WEEK, "closed": ["2026-12-26..2026-12-24"]}, ("closed", 0), "ends before"),
        (
            {"weekly": WEEK, "closed": [{"from": "2026-12-24", "till": "x"}]},
            ("closed", 0, "till"),
            'unknown key "till"',
        ),
        (
            {"weekly": WEEK, "closed": [{"from": "24 Dec"}]},
            ("closed", 0, "from"),
            "expected a date like",
        ),
        (
            {
                "weekly": WEEK,
                "special": [
                    {"name": "A", "from": "2027-02-08", "to": "2027-03-09", "weekly": WEEK},
                    {"name": "B", "from": "2027-03-01", "to": "2027-03-02", "weekly": WEEK},
                ],
            },
            ("special", 1, "from"),
            'overlaps special hours "A" (2027-02-08..2027-03-09)',
        ),
        (
            {"weekly": WEEK, "special": [{"name": "A", "from": "2027-02-08", "until": "x"}]},
            ("special", 0, "until"),
            "expected one of: name, from, to, weekly",
        ),
    ],
)
def test_config_errors(data: dict[str, Any], path: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        BusinessHoursConfig.model_validate(data)
    errors = caught.value.errors()
    assert len(errors) == 1
    found = errors[0]
    assert (*found["loc"], *found.get("ctx", {}).get("at", ())) == path
    assert message in found["msg"]


class _File(FrozenModel):
    business_hours: BusinessHoursConfig | None = None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'business_hours:\n  weekly:\n    mon: ["8-12"]\n',
            "config.yaml:3:11: business_hours.weekly.mon[0]: "
            'expected a period like 08:00-12:00, got "8-12"',
        ),
        (
            'business_hours:\n  weekly:\n    monday: ["08:00-12:00"]\n',
            'config.yaml:3:5: business_hours.weekly: unknown key "monday" '
            "(expected one of: mon, tue, wed, thu, fri, sat, sun)",
        ),
        (
            "business_hours:\n  weekly: {mon: 08:00-12:00}\n  holidays:\n    country: XX\n",
            'config.yaml:4:14: business_hours.holidays.country: unknown country "XX" '
            "(use an ISO 3166 code like ID, NL or US)",
        ),
    ],
)
def test_config_errors_name_file_and_line(text: str, expected: str) -> None:
    # Validated the way load_config_text validates Config, under a stand-in root model.
    data, marks = load_yaml(text, "config.yaml")
    with pytest.raises(ValidationError) as caught:
        _File.model_validate(data)
    problems = problems_from(caught.value, _File, ConfigSource("config.yaml", marks))
    assert [str(p) for p in problems] == [expected]


CONFIG = """\
timezone: Asia/Jakarta
state_dir: state
channels:
  - name: support-mail
    type: email
    address: support@example.com
    imap: {host: h, port: 993, username: u, password_file: imap.pw}
    smtp: {host: h, port: 25}
"""


def test_load_config_text_locates_business_hours_errors(tmp_path: Path) -> None:
    (tmp_path / "imap.pw").write_text("secret\n")
    good = load_config_text(CONFIG + DESK, "config.yaml", tmp_path, environ={})
    assert build_calendar(good.business_hours, good.timezone).is_open(local("2026-03-10T12:00"))
    bad = CONFIG + "business_hours:\n  weekly:\n    mon: [08:00-12:00, noon-17:00]\n"
    with pytest.raises(ConfigError) as caught:
        load_config_text(bad, "config.yaml", tmp_path, environ={})
    assert [str(p) for p in caught.value.problems] == [
        "config.yaml:11:24: business_hours.weekly.mon[1]: "
        'expected a period like 08:00-12:00, got "noon-17:00"'
    ]


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        pytest.param("2026-03-10T09:00", "2026-03-10T10:00", 60, id="within-a-period"),
        pytest.param("2026-03-09T11:30", "2026-03-09T13:30", 60, id="lunch-not-counted"),
        pytest.param("2026-03-06T16:30", "2026-03-09T08:30", 360, id="friday-to-monday"),
        pytest.param("2026-05-30T13:00", "2026-06-02T09:00", 120, id="holiday-monday"),
        pytest.param("2026-03-08T10:00", "2026-03-09T08:30", 30, id="from-closed"),
        pytest.param("2026-03-08T10:00", "2026-03-08T22:00", 0, id="all-closed"),
        pytest.param("2026-03-10T10:00", "2026-03-10T10:00", 0, id="empty"),
        pytest.param("2026-03-10T11:00", "2026-03-10T10:00", 0, id="end-before-start"),
        pytest.param("2026-03-10T09:00", "2026-03-10T09:00:30", 0.5, id="fractional"),
    ],
)
def test_open_minutes(desk: BusinessCalendar, start: str, end: str, minutes: float) -> None:
    assert desk.open_minutes(local(start), local(end)) == pytest.approx(minutes, abs=1e-9)


BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("data", "zone", "start", "minutes"),
    [
        pytest.param(None, JAKARTA, "2026-03-06T11:00", 60, id="desk-friday-prayer"),
        pytest.param(None, JAKARTA, "2026-03-06T16:30", 360, id="desk-weekend"),
        pytest.param(None, JAKARTA, "2026-03-07T20:00", 90, id="desk-from-closed"),
        pytest.param(None, JAKARTA, "2026-03-09T12:00", 0, id="desk-zero-from-closed"),
        pytest.param(None, JAKARTA, "2026-12-23T16:00", 125.25, id="desk-closed-date"),
        pytest.param(NIGHT, JAKARTA, "2026-03-06T23:00", 240, id="overnight"),
        pytest.param(NIGHT, JAKARTA, "2026-03-07T01:00", 600, id="overnight-across-closed"),
        pytest.param(
            {"timezone": "Europe/Berlin", "weekly": {"sat": "22:00-06:00"}},
            BERLIN,
            "2026-03-28T23:00",
            420,
            id="berlin-spring-night",
        ),
        pytest.param(
            {"timezone": "Europe/Berlin", "weekly": {"sat": "22:00-06:00"}},
            BERLIN,
            "2026-10-24T23:00",
            500,
            id="berlin-autumn-night",
        ),
        pytest.param(
            {"timezone": "Europe/Berlin", "weekly": {"sun": "02:00-03:00"}},
            BERLIN,
            "2026-10-25T02:15",
            75,
            id="berlin-repeated-hour",
        ),
    ],
)
def test_open_minutes_inverts_add_business_minutes(
    desk: BusinessCalendar, data: dict[str, Any] | None, zone: ZoneInfo, start: str, minutes: float
) -> None:
    cal = desk if data is None else calendar(data, "Asia/Jakarta")
    t = local(start, zone)
    due = cal.add_business_minutes(t, minutes)
    assert cal.open_minutes(t, due) == pytest.approx(minutes, abs=1e-6)
    # Counting from the moment counting starts gives the same: closed time adds nothing.
    opens = cal.next_open(t)
    assert opens is not None
    assert cal.open_minutes(opens, due) == pytest.approx(minutes, abs=1e-6)


def test_open_minutes_never_open_and_naive() -> None:
    never = BusinessCalendar(JAKARTA, ((),) * 7)
    assert never.open_minutes(local("2026-03-10T12:00"), local("2026-03-12T12:00")) == 0.0
    with pytest.raises(ValueError, match="aware"):
        never.open_minutes(datetime(2026, 3, 10, 12, 0), local("2026-03-12T12:00"))
