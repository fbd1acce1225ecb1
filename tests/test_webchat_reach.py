"""Where a visitor's answers are mailed (the web chat's offline form, issue 17): the address
they left last, and none once retention has removed it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine

from responder.core.reply_kinds import EMAIL_LEFT
from responder.storage import schema
from responder.storage.migrations import migrate
from responder.storage.retention import MARKER
from responder.storage.views import ticket_infos

AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("left", "reach"),
    [
        ((), None),
        (("sari@example.com",), "sari@example.com"),
        (("sari@exampel.com", "sari@example.com"), "sari@example.com"),  # a typo corrected
        ((MARKER,), None),  # purged by retention: nothing more goes there
        ((MARKER, "sari@example.com"), "sari@example.com"),  # left again since
    ],
)
def test_answers_go_to_the_last_address_left_and_none_once_purged(
    left: tuple[str, ...], reach: str | None
) -> None:
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        migrate(conn)
        ticket = conn.execute(
            schema.tickets.insert().values(
                ref="ABC234",
                channel="web",
                customer="web:v",
                language="id",
                created_at=AT,
                updated_at=AT,
            )
        ).inserted_primary_key[0]
        for address in left:
            conn.execute(
                schema.ticket_events.insert().values(
                    ticket_id=ticket,
                    kind=EMAIL_LEFT,
                    actor="web:v",
                    detail=address,
                    created_at=AT,
                )
            )
        [info] = ticket_infos(conn, ["ABC234"]).values()
    assert info.reach == reach and info.channel == "web"
