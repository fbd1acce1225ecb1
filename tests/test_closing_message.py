"""The closing message on WhatsApp (issue 18 item 5 with issue 16's 24-hour window): past the
window it goes only as the approved template named for auto_closed, else not at all, with the
reason; inside it, as the words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from responder.config.rules import DEFAULT_RULES
from responder.core.settings import ReplyCap, Settings
from responder.core.templates import Templates
from responder.core.window import Skipped
from responder.domain.calendar import BusinessCalendar
from responder.domain.closing import ClosePolicy, WaitSpan
from responder.domain.timers import TicketFacts
from responder.domain.window import ApprovedTemplate
from responder.services.closing.compose import closing_message
from tests.harness import JAKARTA
from tests.test_reply_window import profile

NOW = datetime(2030, 1, 9, 10, 0, tzinfo=UTC)
CLOSED = ApprovedTemplate("toko_closed_v1", "id", (), ("customer_name", "ref"), ())
TICKET = TicketFacts(
    1, "ABC234", "shop-wa", "6281234567890", "Budi", "", "id", None, NOW - timedelta(days=4), 1
)


def settings(approved: dict[str, ApprovedTemplate]) -> Settings:
    return Settings(
        Templates(),
        {"shop-wa": profile(approved=approved)},
        ReplyCap(3, timedelta(days=1)),
        DEFAULT_RULES,
        (),
        BusinessCalendar.always_open(JAKARTA),
        closing=ClosePolicy(WaitSpan("3d", 3)),
    )


def test_inside_the_window_the_words_go() -> None:
    sent = closing_message(settings({}), TICKET, None, NOW - timedelta(hours=2), NOW)
    assert not isinstance(sent, Skipped) and sent is not None
    body = json.loads(sent[2].message)
    assert "kami tutup" in json.dumps(body, ensure_ascii=False)


def test_past_the_window_without_a_template_nothing_goes_and_the_reason_says_why() -> None:
    sent = closing_message(settings({}), TICKET, None, NOW - timedelta(days=3), NOW)
    assert sent == Skipped(
        "the 24-hour reply window had closed and no template is set for auto_closed (the "
        "customer last wrote 3 days ago)"
    )


def test_past_the_window_the_approved_template_goes_with_name_and_reference() -> None:
    sent = closing_message(
        settings({"auto_closed": CLOSED}), TICKET, None, NOW - timedelta(days=3), NOW
    )
    assert not isinstance(sent, Skipped) and sent is not None
    text = sent[2].message.decode()
    assert "toko_closed_v1" in text and "Budi" in text and "ABC234" in text
