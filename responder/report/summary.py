"""The key figures as labelled, formatted rows, shared by the terminal and the HTML page."""

from __future__ import annotations

from dataclasses import dataclass

from responder.report import fmt
from responder.report.figures import Figures
from responder.report.stats import share


@dataclass(frozen=True)
class KeyFigure:
    key: str  # stable, for the HTML's data-key
    label: str
    value: str
    note: str = ""


def _count_of(part: int, whole: int) -> str:
    return f"{part} of {whole}"


def key_figures(f: Figures) -> list[KeyFigure]:
    fr, res, csat = f.first_response, f.resolution, f.csat
    rows = [
        KeyFigure("tickets", "Tickets opened", str(f.tickets)),
        KeyFigure("messages_in", "Messages in", str(f.messages_in)),
        KeyFigure("suppressed", "Machine mail suppressed", str(f.suppressed), "never answered"),
        KeyFigure("fr_median", "First response, median", fmt.duration(fr.median), "business time"),
        KeyFigure("fr_p90", "First response, p90", fmt.duration(fr.p90), "business time"),
        KeyFigure("fr_pending", "No response yet", str(fr.pending), "tickets"),
        KeyFigure("res_median", "Resolution, median", fmt.duration(res.median), "business time"),
        KeyFigure("res_p90", "Resolution, p90", fmt.duration(res.p90), "business time"),
        KeyFigure("open", "Still open", str(res.pending), "tickets"),
    ]
    for clock in f.sla:
        judged = clock.met + clock.breached
        rows.append(
            KeyFigure(
                f"sla_{clock.clock}",
                f"SLA {fmt.clock(clock.clock).lower()}",
                fmt.percent(clock.compliance),
                f"{_count_of(clock.met, judged)} met",
            )
        )
    rows += [
        KeyFigure(
            "fcr",
            "First-contact resolution",
            fmt.percent(f.first_contact_rate),
            f"{_count_of(f.first_contact, f.resolved)} resolved",
        ),
        KeyFigure(
            "auto_closed",
            "Closed automatically",
            str(f.auto_closed),
            f"{_count_of(f.auto_closed, f.resolved)} resolved; waited on the customer",
        ),
        KeyFigure(
            "merged",
            "Merged duplicates",
            str(f.merged),
            "joined an older ticket; not counted as conversations",
        ),
        KeyFigure(
            "rules_alone",
            "Answered by rules alone",
            str(f.rules_alone),
            f"{fmt.percent(share(f.rules_alone, f.tickets))} of tickets",
        ),
        KeyFigure("surveys_sent", "Surveys sent", str(csat.sent)),
        KeyFigure(
            "surveys_answered",
            "Surveys answered",
            str(csat.answered),
            f"{fmt.percent(csat.response_rate)} response rate",
        ),
        KeyFigure(
            "csat",
            "CSAT",
            fmt.percent(csat.csat),
            f"{_count_of(csat.satisfied, csat.rated)} rated 4–5",
        ),
        KeyFigure("rating", "Average rating", fmt.rating(csat.average), "of 5"),
        KeyFigure(
            "nps",
            "NPS",
            fmt.signed(csat.nps),
            f"{csat.promoters} promoters, {csat.detractors} detractors of {csat.nps_answers}",
        ),
    ]
    return rows


def sla_rows(f: Figures) -> list[list[str]]:
    """One row per SLA clock: met, breached, running, compliance, breach notices sent."""
    return [
        [
            fmt.clock(c.clock),
            str(c.met),
            str(c.breached),
            str(c.running),
            fmt.percent(c.compliance),
            str(c.notices),
        ]
        for c in f.sla
    ]
