"""Satisfaction figures from the surveys table: response rate, CSAT, NPS, lowest ratings."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from responder.report.rows import SurveyRow
from responder.report.stats import rounded, share

LOWEST_COMMENTS = 5
_PARTICULARS = re.compile(r"\s*\([^()]*\)$")


@dataclass(frozen=True)
class CsatWeek:
    week: date  # the Monday, local
    answered: int
    average: float
    satisfied: int  # rated 4 or 5

    @property
    def csat(self) -> float | None:
        return share(self.satisfied, self.answered)


@dataclass(frozen=True)
class Comment:
    ref: str
    rating: int | None
    text: str


@dataclass(frozen=True)
class Csat:
    sent: int  # surveys with a sent_at
    answered: int  # surveys in state answered
    rated: int
    satisfied: int  # ratings of 4 or 5
    average: float | None
    nps_answers: int
    promoters: int  # 9-10
    detractors: int  # 0-6
    lowest: tuple[Comment, ...]
    weeks: tuple[CsatWeek, ...]  # by the week of the answer
    # Surveys not sent, by reason, most first: (reason, how many).
    skipped: tuple[tuple[str, int], ...] = ()

    @property
    def response_rate(self) -> float | None:
        return share(self.answered, self.sent)

    @property
    def csat(self) -> float | None:
        """The share of ratings that are 4 or 5."""
        return share(self.satisfied, self.rated)

    @property
    def nps(self) -> int | None:
        """% promoters − % detractors, rounded half away from zero."""
        if not self.nps_answers:
            return None
        return rounded(100 * (self.promoters - self.detractors), self.nps_answers)


def _lowest_first(s: SurveyRow) -> tuple[int, float]:
    # An unrated comment after the rated ones; the older first among equal ratings.
    return (
        s.rating if s.rating is not None else 99,
        s.answered_at.timestamp() if s.answered_at else 0,
    )


def csat_figures(surveys: tuple[SurveyRow, ...], refs: dict[int, str], zone: ZoneInfo) -> Csat:
    """The surveys of the period's tickets; refs names their tickets."""
    answered = [s for s in surveys if s.state == "answered"]
    ratings = [s.rating for s in answered if s.rating is not None]
    scores = [s.nps for s in answered if s.nps is not None]
    commented = sorted((s for s in answered if s.comment and s.comment.strip()), key=_lowest_first)
    weekly: dict[date, list[int]] = defaultdict(list)
    for s in answered:
        if s.rating is not None and s.answered_at is not None:
            day = s.answered_at.astimezone(zone).date()
            weekly[day - timedelta(days=day.weekday())].append(s.rating)
    return Csat(
        sent=sum(1 for s in surveys if s.sent_at is not None),
        answered=len(answered),
        rated=len(ratings),
        satisfied=sum(1 for r in ratings if r >= 4),
        average=sum(ratings) / len(ratings) if ratings else None,
        nps_answers=len(scores),
        promoters=sum(1 for n in scores if n >= 9),
        detractors=sum(1 for n in scores if n <= 6),
        lowest=tuple(
            Comment(refs.get(s.ticket_id, "?"), s.rating, (s.comment or "").strip())
            for s in commented[:LOWEST_COMMENTS]
        ),
        weeks=tuple(
            CsatWeek(week, len(r), sum(r) / len(r), sum(1 for x in r if x >= 4))
            for week, r in sorted(weekly.items())
        ),
        skipped=skip_reasons(surveys),
    )


def skip_reasons(surveys: tuple[SurveyRow, ...]) -> tuple[tuple[str, int], ...]:
    """How many surveys were skipped for each reason, most first. A reason's particulars (a
    date, how long ago the customer wrote) are in a trailing parenthesis, left out here."""
    counts = Counter(
        _PARTICULARS.sub("", s.reason or "unknown") for s in surveys if s.state == "skipped"
    )
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
