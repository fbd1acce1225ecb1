"""Dates and opening times as a customer reads them, in their language, via Babel."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

# Babel is imported on first use, not with this module: its locale data costs ~5 MB of RSS
# (measured with the daemon's modules loaded), paid only once a reply needs a date.

# Per language: (date without year, the year, the time), as Babel patterns. Written out rather
# than taken from CLDR's "full" format because the house style is fixed: "Senin, 24 November
# pukul 08.00 WIB", "Monday 24 November at 08:00 WIB", and no year within the current one.
_PATTERNS: dict[str, tuple[str, str, str]] = {
    "id": ("EEEE, d MMMM", " y", " 'pukul' HH.mm"),
    "en": ("EEEE d MMMM", " y", " 'at' HH:mm"),
}
_CLOCK = {"id": "HH.mm", "en": "HH:mm"}
_FALLBACK = "en"


def _base(language: str) -> str:
    """The primary language of a tag (id-ID, en_GB): house patterns are per language."""
    return language.replace("_", "-").split("-")[0].lower()


def _style(language: str) -> tuple[str, tuple[str, str, str] | None]:
    """The Babel locale and house patterns for `language`: the house style where there is one,
    CLDR's own formats for another language Babel knows, else English: a reply never fails."""
    from babel import Locale, UnknownLocaleError

    base = _base(language)
    if base in _PATTERNS:
        return base, _PATTERNS[base]
    locale = language.replace("-", "_")
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        return _FALLBACK, _PATTERNS[_FALLBACK]
    return locale, None


def zone_abbreviation(t: datetime) -> str:
    """The zone as locals write it: WIB, WITA, WIT, CET, CEST; "UTC+7" where the tz database
    has only a numeric name (it spells many zones "+07", which reads like a typo)."""
    name = t.tzname()
    offset = t.utcoffset()
    if offset is None:
        raise ValueError("an opening time needs a timezone")
    if name and name[0] not in "+-":
        return name
    if offset == timedelta(0):
        return "UTC"
    sign = "+" if offset > timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def format_opening(t: datetime, language: str, now: datetime | None = None) -> str:
    """When we open again: "Senin, 24 November pukul 08.00 WIB" / "Monday 24 November at
    08:00 WIB", with the year when `t` is not in `now`'s year (read in t's zone; `now`
    defaults to the present)."""
    from babel import dates

    zone = zone_abbreviation(t)  # also rejects a naive t before anything else
    tz = t.tzinfo
    if now is None:
        now = datetime.now(tz)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=tz)
    with_year = t.year != now.astimezone(tz).year
    locale, patterns = _style(language)
    if patterns is None:
        # Another language's word order is CLDR's business: its full date and short time.
        day = dates.format_date(t, "full", locale=locale)
        return f"{day} {dates.format_time(t, 'short', tzinfo=tz, locale=locale)} {zone}"
    day_pattern, year_pattern, time_pattern = patterns
    pattern = day_pattern + (year_pattern if with_year else "") + time_pattern
    return f"{dates.format_datetime(t, pattern, tzinfo=tz, locale=locale)} {zone}"


def format_date(d: date, language: str, now: date | None = None) -> str:
    """A day, e.g. a holiday: "Senin, 24 November" / "Monday 24 November", with the year when
    `d` is not in `now`'s year (`now` defaults to today)."""
    from babel import dates

    if isinstance(d, datetime):
        d = d.date()
    with_year = d.year != (now or date.today()).year
    locale, patterns = _style(language)
    if patterns is None:
        return dates.format_date(d, "full", locale=locale)
    day_pattern, year_pattern, _ = patterns
    return dates.format_date(d, day_pattern + (year_pattern if with_year else ""), locale=locale)


def format_clock(t: time, language: str) -> str:
    """A wall-clock time for an hours table: "08.00" in Indonesian, "08:00" in English."""
    from babel import dates

    locale, _ = _style(language)
    return dates.format_time(t, _CLOCK.get(locale, "short"), locale=locale)


def weekday_name(weekday: int, language: str) -> str:
    """The day's name, Monday being 0 as in `date.weekday()`: "Senin", "Monday"."""
    from babel import dates

    locale, _ = _style(language)
    # 2024-01-01 was a Monday; any fixed week will do.
    return dates.format_date(date(2024, 1, 1 + weekday % 7), "EEEE", locale=locale)
