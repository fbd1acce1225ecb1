"""The website chat's wire: a visitor's record as a Message, our replies as the panel's plain
text events, and the event ids that order and deduplicate them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from responder.core.channel import Draft
from responder.core.templates import Templates
from responder.services.settings import build_settings
from responder.wire.webchat.events import reply_event, visitor_event
from responder.wire.webchat.record import VisitorMessage, email_address, event_id, event_time
from responder.wire.webchat.text import plain
from responder.wire.webchat.wire import WEBCHAT
from tests.test_config_webchat import BASE, load

VISITOR = "Vb3kP2mQxR7sT9uW1yZ4aC"
AT = datetime(2026, 11, 25, 3, 4, 5, 678000, tzinfo=UTC)


def test_a_visitors_record_is_a_message_from_a_person_in_their_conversation() -> None:
    raw = VisitorMessage(VISITOR, "Halo kak\nukuran L ada?", "c-1234-abcd", AT, "id").to_bytes()
    msg = WEBCHAT.parse(raw)
    assert msg.sender.address == msg.sender.reply_to == f"web:{VISITOR}"
    assert msg.thread.conversation == f"web:{VISITOR}"
    assert msg.thread.message_id == f"web:{VISITOR}/c-1234-abcd"
    assert (msg.text, msg.title, msg.language, msg.date) == (
        "Halo kak\nukuran L ada?",
        "Halo kak",
        "id",
        AT,
    )
    assert msg.signals.person and msg.signals.ignored is None and msg.signals.press is None
    pressed = VisitorMessage(VISITOR, "5", "c-1234-abce", AT, None, "csat:7:r5").to_bytes()
    assert WEBCHAT.parse(pressed).signals.press is not None


@pytest.mark.parametrize("raw", [b"", b"[]", b'{"visitor": "x", "text": "hi"}', b"\xff"])
def test_a_record_that_cannot_be_read_is_ignored_never_raised(raw: bytes) -> None:
    msg = WEBCHAT.parse(raw)
    assert msg.signals.ignored is not None and msg.sender.address is None


CUSTOMER_TEMPLATES = ("acknowledgement", "out_of_hours", "hours", "payment", "welcome")


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("name", CUSTOMER_TEMPLATES)
def test_replies_are_plain_chat_wording_with_the_customers_words_kept(
    name: str, language: str
) -> None:
    settings = build_settings(load(BASE))
    profile = settings.profiles["web"]
    context = {
        "ticket": {"ref": "ABC234"},
        "customer": {"name": 'Budi <b>"&amp;', "address": f"web:{VISITOR}"},
        "message": {"subject": "", "excerpt": ""},
        "business": {"name": "Toko Contoh", "address": "", "payment": "BCA 123 a.n. <Toko>"},
        "channel": {"name": "web", "address": ""},
        "next_open": {"text": "Senin, 30 November pukul 08.00 WIB", "iso": ""},
        "holiday": None,
        "hours": [{"day": "Senin", "periods": "08.00-17.00"}],
    }
    rendered = WEBCHAT.content(Templates(), name, [language], context)
    text = rendered.text
    assert "<b>" not in text.replace('Budi <b>"&amp;', "") and "&lt;" not in text
    assert "email" not in text.lower()  # a chat is answered here, never "reply to this email"
    if name != "welcome":
        assert 'Budi <b>"&amp;' in text and "ABC234" in text
    reply = WEBCHAT.render(Draft.of(name, f"web:{VISITOR}", rendered), profile, AT)
    event = reply_event(reply.message, 42)
    assert event is not None and event["text"] == text and event["from"] == "shop"


def test_a_staff_answer_and_buttons_reach_the_panel_as_they_were_written() -> None:
    settings = build_settings(load(BASE))
    profile = settings.profiles["web"]
    buttons = ((("1", "csat:9:r1"), ("2", "csat:9:r2")),)
    draft = Draft("staff_reply", f"web:{VISITOR}", text="Ada kak <i>", markup="x", personal=True)
    answer = reply_event(WEBCHAT.render(draft, profile, AT).message, 7)
    survey = Draft("csat_survey", f"web:{VISITOR}", text="Nilai kami?", buttons=buttons)
    asked = reply_event(WEBCHAT.render(survey, profile, AT).message, 8)
    assert answer == {
        "id": "1795575845678-r0000000007",
        "from": "staff",
        "text": "Ada kak <i>",
        "at": "2026-11-25T03:04:05.678Z",
        "kind": "staff_reply",
    }
    assert asked is not None and asked["from"] == "shop"
    assert asked["buttons"] == [
        [{"label": "1", "data": "csat:9:r1"}, {"label": "2", "data": "csat:9:r2"}]
    ]


def test_event_ids_sort_as_text_in_the_order_events_happened() -> None:
    later = AT + timedelta(milliseconds=1)
    ids = [
        event_id(AT, "i", 10),
        event_id(AT, "r", 9),  # the same millisecond: the visitor's message first
        event_id(later, "i", 2),
        event_id(AT + timedelta(days=400), "r", 1),
    ]
    assert sorted(ids) == ids
    assert event_time(ids[0]) == AT.replace(microsecond=678000)
    assert event_time("not-an-id") is None
    mine = visitor_event(VisitorMessage(VISITOR, "hi", "c-1234-abcd", AT).to_bytes(), 10)
    assert mine is not None and mine["id"] == ids[0] and mine["client_id"] == "c-1234-abcd"
    # A purged record (retention blanks the text) shows nothing.
    assert visitor_event(b"", 10) is None


def test_chat_markup_becomes_plain_text() -> None:
    markup = 'Tiket <b>#AB</b> &lt;3 <a href="https://t.id/p?a=1&amp;b=2">bayar</a>, <i>ok</i>'
    assert plain(markup) == "Tiket #AB <3 bayar (https://t.id/p?a=1&b=2), ok"
    assert plain('<a href="https://t.id">https://t.id</a>') == "https://t.id"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("sari@example.com", "sari@example.com"),
        ("  Sari.Dewi+toko@Example.CO.ID ", "Sari.Dewi+toko@example.co.id"),
        ("sari@localhost", None),  # no dotted domain: nowhere a reply can go
        ("sari@", None),
        ("sari dewi@example.com", None),
        ('"sari"@example.com', None),
        ("sari@example.com\r\nBcc: x@evil.test", None),  # no header can ride along
        ("sari@example.com, x@evil.test", None),
        ("Sari <sari@example.com>", None),
        ("s" * 65 + "@example.com", None),
        ("sari@" + "a" * 250 + ".com", None),
    ],
)
def test_an_address_left_in_the_offline_form_is_one_plain_address_or_none(
    given: str, kept: str | None
) -> None:
    assert email_address(given) == kept


def test_an_address_left_is_a_message_that_says_only_that() -> None:
    left = VisitorMessage(VISITOR, "", "c-1234-abcf", AT, "id", email="sari@example.com")
    msg = WEBCHAT.parse(left.to_bytes())
    assert msg.reach == "sari@example.com" and msg.text == ""
    assert msg.signals.ignored is None and msg.thread.conversation == f"web:{VISITOR}"
    event = visitor_event(left.to_bytes(), 9)
    assert event is not None
    assert (event["kind"], event["email"], event["from"]) == (
        "email",
        "sari@example.com",
        "visitor",
    )
    # A record whose address is not one (edited in the database, an old version) is empty.
    forged = left.to_bytes().replace(b"sari@example.com", b"sari@example.com\\r\\nBcc: x@y.z")
    assert WEBCHAT.parse(forged).signals.ignored is not None
