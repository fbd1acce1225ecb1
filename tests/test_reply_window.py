"""WhatsApp's 24-hour window, decided in core: an automatic message goes as it is inside it,
as its approved template after it, or not at all with the reason said; and the template as
the Graph API request the wire makes of it."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from responder.core.channel import ChannelProfile, Draft, TemplateSend, Wire
from responder.core.guards import GuardContext
from responder.core.window import Skipped, closed_for, fit
from responder.domain.window import ApprovedTemplate
from responder.wire.email.wire import EMAIL
from responder.wire.telegram.wire import TELEGRAM
from responder.wire.whatsapp.outbound import Outgoing
from responder.wire.whatsapp.wire import WHATSAPP

NOW = datetime(2030, 1, 9, 10, 0, tzinfo=UTC)
SURVEY = ApprovedTemplate(
    "toko_survey_v1",
    "id",
    (("en", "en_US"),),
    ("customer_name", "ref"),
    (1, 3, 5),
)
RATINGS = {n: f"csat:41:r{n}" for n in range(1, 6)}


def profile(
    wire: Wire = WHATSAPP, approved: dict[str, ApprovedTemplate] | None = None
) -> ChannelProfile:
    return ChannelProfile(
        name="shop-wa",
        address="",
        display_name="Toko Contoh",
        language="id",
        envelope_from="",
        guard=GuardContext(own_addresses=frozenset(), own_domains=frozenset()),
        wire=wire,
        approved=tuple(sorted((approved or {}).items())),
    )


def survey(name: str = "Budi") -> Draft:
    buttons = (tuple((str(n), data) for n, data in RATINGS.items()),)
    return Draft("csat_survey", "6281234567890", text="Nilai kami", to_name=name, buttons=buttons)


@pytest.mark.parametrize(
    ("wire", "ago", "closed"),
    [
        (WHATSAPP, None, None),  # no timestamp known: nothing to hold it back on
        (WHATSAPP, timedelta(hours=23, minutes=59), None),
        (WHATSAPP, timedelta(hours=24), None),  # "within 24 hours": the last second counts
        (WHATSAPP, timedelta(hours=24, seconds=1), timedelta(hours=24, seconds=1)),
        (WHATSAPP, timedelta(days=3), timedelta(days=3)),
        (WHATSAPP, -timedelta(minutes=5), None),  # the customer's clock ahead of ours
        (EMAIL, timedelta(days=30), None),  # mail and Telegram have no window
        (TELEGRAM, timedelta(days=30), None),
    ],
    ids=["unknown", "inside", "at-24h", "just-past", "days-past", "ahead", "email", "telegram"],
)
def test_the_window_is_counted_from_the_customers_last_message(
    wire: Wire, ago: timedelta | None, closed: timedelta | None
) -> None:
    last = None if ago is None else NOW - ago
    assert closed_for(profile(wire), last, NOW) == closed
    draft = survey()
    fitted = fit(draft, profile(wire, {"csat_survey": SURVEY}), "id", last, NOW, ref="ABC234")
    assert (fitted is draft) == (closed is None)


@pytest.mark.parametrize(
    ("ago", "approved", "reason"),
    [
        (
            timedelta(hours=25),
            {},
            "the 24-hour reply window had closed and no template is set for csat_survey (the "
            "customer last wrote 25 hours ago)",
        ),
        (
            timedelta(days=3, hours=5),
            {"acknowledgement": SURVEY},  # a template for another message is no help
            "the 24-hour reply window had closed and no template is set for csat_survey (the "
            "customer last wrote 3 days ago)",
        ),
    ],
    ids=["hours", "days-other-kind-only"],
)
def test_past_the_window_without_a_template_nothing_goes_and_the_reason_says_why(
    ago: timedelta, approved: dict[str, ApprovedTemplate], reason: str
) -> None:
    fitted = fit(survey(), profile(approved=approved), "id", NOW - ago, NOW, ref="ABC234")
    assert fitted == Skipped(reason)


@pytest.mark.parametrize(
    ("language", "name", "code", "parameters"),
    [
        ("id", "Budi", "id", ("Budi", "ABC234")),
        ("en", "Budi", "en_US", ("Budi", "ABC234")),  # its own translation
        ("ms", "Budi", "id", ("Budi", "ABC234")),  # no translation: the fallback
        ("id", "", "id", ("Pelanggan", "ABC234")),  # Meta refuses an empty variable
        ("en", "", "en_US", ("Customer", "ABC234")),
        ("id", "Budi\n  Santoso\t(toko)", "id", ("Budi Santoso (toko)", "ABC234")),
    ],
    ids=["id", "en", "other-language", "nameless-id", "nameless-en", "one-line"],
)
def test_past_the_window_the_template_goes_in_the_customers_language(
    language: str, name: str, code: str, parameters: tuple[str, ...]
) -> None:
    fitted = fit(
        survey(name),
        profile(approved={"csat_survey": SURVEY}),
        language,
        NOW - timedelta(days=2),
        NOW,
        ref="ABC234",
        ratings=RATINGS,
    )
    assert isinstance(fitted, Draft) and fitted.buttons is None
    # Its buttons answer as the list's rows would: 1, 3 and 5 of the same survey.
    payloads = ("csat:41:r1", "csat:41:r3", "csat:41:r5")
    assert fitted.template == TemplateSend("toko_survey_v1", code, parameters, payloads)


def test_the_wire_renders_a_template_as_graphs_template_request() -> None:
    send = TemplateSend("toko_survey_v1", "id", ("Budi", "ABC234"), ("csat:41:r1", "csat:41:r5"))
    draft = dataclasses.replace(survey(), template=send, buttons=None)
    reply = WHATSAPP.render(draft, profile(), NOW)
    out = Outgoing.from_bytes(reply.message)
    assert out.requests == (
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "6281234567890",
            "type": "template",
            "template": {
                "name": "toko_survey_v1",
                "language": {"code": "id"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "Budi"},
                            {"type": "text", "text": "ABC234"},
                        ],
                    },
                    {
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": "0",
                        "parameters": [{"type": "payload", "payload": "csat:41:r1"}],
                    },
                    {
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": "1",
                        "parameters": [{"type": "payload", "payload": "csat:41:r5"}],
                    },
                ],
            },
        },
    )
    bare = dataclasses.replace(draft, template=TemplateSend("toko_ack", "en_US"))
    [request] = json.loads(WHATSAPP.render(bare, profile(), NOW).message)["requests"]
    # A template without variables or buttons: no components at all, as Meta's examples.
    assert request["template"] == {"name": "toko_ack", "language": {"code": "en_US"}}
