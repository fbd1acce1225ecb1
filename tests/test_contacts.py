"""Contacts, pure (issue 18): which identity a customer is, what links two, and the history
line staff read with a new ticket."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from responder.core.contacts import (
    AUTO,
    SEEN,
    STAFF,
    ContactLink,
    Identity,
    by_staff,
    email_left,
    identity_of,
    parse_identity,
    seen,
    shared_phone,
)
from responder.core.history import History, PastTicket, Shown, history_answer, history_line
from responder.wire.telegram.desk import DESK

EMAIL = Identity("email", "budi@example.com")
TG = Identity("telegram", "5001")


@pytest.mark.parametrize(
    "kind, customer, identity",
    [
        ("email", "Budi@Example.COM", EMAIL),
        ("telegram", "5001", TG),
        ("whatsapp", "6281234567890", Identity("whatsapp", "+6281234567890")),
        ("whatsapp", "+6281234567890", Identity("whatsapp", "+6281234567890")),
        ("webchat", "web:v-1", Identity("web", "web:v-1")),
        ("fax", "123", None),
        ("email", "  ", None),
    ],
)
def test_a_tickets_customer_is_one_identity_per_channel_kind(
    kind: str, customer: str, identity: Identity | None
) -> None:
    assert identity_of(kind, customer) == identity


@pytest.mark.parametrize(
    "typed, found",
    [
        ("budi@example.com", EMAIL),
        ("mailto:Budi@example.com", EMAIL),
        ("+62 812-3456-7890", Identity("whatsapp", "+6281234567890")),
        ("tg:5001", TG),
        ("telegram:-100123", Identity("telegram", "-100123")),
        ("web:v-1", Identity("web", "web:v-1")),
        ("#abc234", "ABC234"),
        ("tg:budi", None),
        ("Budi Santoso", None),
        ("", None),
    ],
)
def test_what_an_admin_types_names_an_identity_or_a_ticket(
    typed: str, found: Identity | str | None
) -> None:
    assert parse_identity(typed) == found


@pytest.mark.parametrize(
    "kind, customer, left, link",
    [
        (
            "webchat",
            "web:v-1",
            "Sari@Example.com ",
            ContactLink(
                Identity("web", "web:v-1"), Identity("email", "sari@example.com"), AUTO, ("R1",)
            ),
        ),
        ("webchat", "web:v-1", "not an address", None),
        # An address left on a ticket that is that address already links nothing new.
        ("email", "sari@example.com", "sari@example.com", None),
    ],
)
def test_an_address_left_in_the_web_chat_links_the_visitor_to_it(
    kind: str, customer: str, left: str, link: ContactLink | None
) -> None:
    assert email_left(kind, customer, left, "R1") == link


@pytest.mark.parametrize(
    "kind, phone, link",
    [
        (
            "telegram",
            "6281234567890",
            ContactLink(TG, Identity("whatsapp", "+6281234567890"), AUTO),
        ),
        (
            "telegram",
            "+62 812 3456 7890",
            ContactLink(TG, Identity("whatsapp", "+6281234567890"), AUTO),
        ),
        ("telegram", None, None),  # the wire has no phone: nothing is linked
        ("telegram", "call me", None),
        ("email", "6281234567890", None),
    ],
)
def test_a_shared_phone_number_links_a_telegram_user_to_that_whatsapp_number(
    kind: str, phone: str | None, link: ContactLink | None
) -> None:
    customer = "5001" if kind == "telegram" else "budi@example.com"
    assert shared_phone(kind, customer, phone) == link


def test_staff_links_two_identities_never_one_to_itself_and_a_name_links_nothing() -> None:
    assert by_staff(TG, EMAIL, ("A", "B")) == ContactLink(TG, EMAIL, STAFF, ("A", "B"))
    assert by_staff(TG, TG) is None
    # A ticket opened makes its customer known, with their name, never linked by it.
    assert seen("telegram", "5001", "R1", "Budi") == ContactLink(TG, None, SEEN, ("R1",), "Budi")


def _ticket(ref: str, channel: str, status: str, rating: int | None = None) -> PastTicket:
    return PastTicket(
        ref, channel, f"about {ref}", datetime(2026, 11, 1, 20, 30, tzinfo=UTC), status, rating
    )


# 20:30 UTC on 1 November is 03:30 on the 2nd in Jakarta: staff read the shop's own day.
KINDS = Shown({"mail": "email", "bot": "telegram"}, ZoneInfo("Asia/Jakarta"))


def test_the_history_line_names_the_last_conversation_other_open_tickets_and_vip() -> None:
    history = History(
        1,
        3,
        (
            _ticket("NEW", "bot", "open"),
            _ticket("LAST", "bot", "resolved", 4),
            _ticket("OLD", "mail", "open"),
        ),
        (EMAIL, TG),
    )
    line = history_line(DESK, "en", history, ("*@example.com",), "NEW", KINDS)
    assert line == (
        "🗂 2 earlier conversation(s) · last: “about LAST” on Telegram, 2026-11-02, resolved, "
        "rated 4/5 · also open: #OLD (by email) · VIP"
    )
    assert history_line(DESK, "id", history, (), "NEW", KINDS).startswith(
        "🗂 2 percakapan sebelumnya · terakhir: “about LAST” lewat Telegram"
    )
    # A first conversation says nothing, unless the customer is a VIP.
    assert history_line(DESK, "en", None, (), "NEW", KINDS) == ""
    assert history_line(DESK, "en", None, ("budi@*",), "NEW", KINDS, "budi@example.com") == "🗂 VIP"


def test_history_lists_the_contacts_tickets_and_says_when_there_are_none() -> None:
    history = History(
        1, 2, (_ticket("B", "bot", "open"), _ticket("A", "mail", "resolved", 5)), (EMAIL, TG)
    )
    said = history_answer(DESK, "en", "B", history, (), KINDS)
    assert said.splitlines() == [
        "🗂 #B: 2 conversation(s) with budi@example.com, tg:5001",
        "#B · 2026-11-02 · on Telegram · “about B” · open",
        "#A · 2026-11-02 · by email · “about A” · resolved, rated 5/5",
    ]
    assert "no earlier conversations" in history_answer(DESK, "en", "B", None, (), KINDS)
    in_utc = Shown(KINDS.kinds, UTC)
    assert "#A · 2026-11-01 · by email" in history_answer(DESK, "en", "B", history, (), in_utc)
