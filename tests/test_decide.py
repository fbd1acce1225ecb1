"""The pure decision for one message, table-driven: suppress, follow up, or acknowledge."""

from __future__ import annotations

import pytest

from responder.decide import Acknowledge, FollowUp, Policy, Suppress, View, decide, lookup_keys
from responder.guards import GuardContext
from responder.mail.parse import parse_message

POLICY = Policy(
    GuardContext(frozenset({"support@toko-contoh.id"}), frozenset({"toko-contoh.id"})), 3
)


def mail(*headers: str, subject: str = "Pesanan") -> bytes:
    head = "\r\n".join(["From: Budi <budi@example.com>", f"Subject: {subject}", *headers])
    return (head + "\r\n\r\nHalo\r\n").encode()


def refs(*values: str):  # type: ignore[no-untyped-def]
    pool = iter(values)
    return lambda: next(pool)


@pytest.mark.parametrize(
    "raw, view, expected",
    [
        (mail(), View(), Acknowledge("budi@example.com", "AAA222")),
        (mail("Auto-Submitted: auto-replied"), View(), Suppress("auto-submitted", "")),
        (
            mail("In-Reply-To: <ours@toko-contoh.id>"),
            View(ref_by_message_id={"ours@toko-contoh.id": "KMWN22"}),
            FollowUp("KMWN22"),
        ),
        (
            mail("References: <a@x> <b@x>"),
            View(ref_by_message_id={"a@x": "OLDER2"}),
            FollowUp("OLDER2"),
        ),
        (mail(subject="Re: Pesanan [#KMWN22]"), View(existing_refs={"KMWN22"}), FollowUp("KMWN22")),
        # A reference nobody issued is just text: a new ticket.
        (mail(subject="Re: Pesanan [#ZZZ999]"), View(), Acknowledge("budi@example.com", "AAA222")),
        (mail("Reply-To: orders@example.com"), View(), Acknowledge("orders@example.com", "AAA222")),
        (mail(), View(recent_replies={"budi@example.com": 3}), Suppress("reply-cap", "")),
        (
            mail(),
            View(recent_replies={"budi@example.com": 2}),
            Acknowledge("budi@example.com", "AAA222"),
        ),
    ],
)
def test_decide(raw: bytes, view: View, expected: object) -> None:
    decision = decide(parse_message(raw), POLICY, view, refs("AAA222"))
    if isinstance(expected, Suppress):
        assert isinstance(decision, Suppress) and decision.rule == expected.rule
    else:
        assert decision == expected


def test_a_new_reference_never_repeats_one_in_use() -> None:
    decision = decide(
        parse_message(mail()), POLICY, View(existing_refs={"AAA222"}), refs("AAA222", "BBB333")
    )
    assert decision == Acknowledge("budi@example.com", "BBB333")


def test_the_view_follows_the_batch_so_a_follow_up_in_the_same_batch_joins() -> None:
    view = View()
    first = parse_message(mail("Message-ID: <first@example.com>"))
    second = parse_message(
        mail("Message-ID: <second@example.com>", "In-Reply-To: <first@example.com>")
    )
    decision = decide(first, POLICY, view, refs("AAA222"))
    assert isinstance(decision, Acknowledge)
    view.opened(decision.ref, ["first@example.com"], decision.target)
    assert decide(second, POLICY, view, refs("CCC444")) == FollowUp("AAA222")
    assert view.recent_replies == {"budi@example.com": 1}


def test_lookup_keys_collects_what_a_batch_needs() -> None:
    mails = [
        parse_message(mail("In-Reply-To: <p@x>", subject="Re: x [#ABC234]")),
        parse_message(mail("Reply-To: o@example.com")),
    ]
    assert lookup_keys(mails) == ({"p@x"}, {"ABC234"}, {"budi@example.com", "o@example.com"})
