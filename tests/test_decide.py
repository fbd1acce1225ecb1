"""The pure decision for one message, table-driven: suppress, follow up, record or reply."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import TypeAdapter

from responder.config.rules import DEFAULT_RULES, RulesConfig
from responder.core.decide import Policy, decide
from responder.core.decisions import OPEN, Acknowledge, FollowUp, Moment, Record, Suppress
from responder.core.guards import GuardContext
from responder.core.view import View, lookup_keys
from responder.wire.email.message import parse as parse_message

GUARD = GuardContext(frozenset({"support@toko-contoh.id"}), frozenset({"toko-contoh.id"}))
POLICY = Policy("support-mail", GUARD, 3, DEFAULT_RULES)
CLOSED = Moment(False, None, "2026-11-23T08:00")
RULES = TypeAdapter(RulesConfig).validate_python(
    [
        {"name": "prices", "when": {"subject_contains": ["harga"]}, "then": {"template": "prices"}},
        {"name": "internal", "when": {"domain": ["toko-contoh.id"]}, "then": {"template": "none"}},
        {"name": "default"},
    ]
)


def mail(*headers: str, subject: str = "Pesanan", sender: str = "Budi <budi@example.com>") -> bytes:
    head = "\r\n".join([f"From: {sender}", f"Subject: {subject}", *headers])
    return (head + "\r\n\r\nHalo\r\n").encode()


def refs(*values: str) -> Callable[[], str]:
    pool = iter(values)
    return lambda: next(pool)


def run(raw: bytes, view: View | None = None, moment: Moment = OPEN, policy: Policy = POLICY):
    return decide(
        parse_message(raw), policy, view or View(), moment, None, refs("AAA222", "BBB333")
    )


@pytest.mark.parametrize(
    "raw, view, expected",
    [
        (mail(), View(), ("ack", "acknowledgement")),
        (mail("Auto-Submitted: auto-replied"), View(), ("suppress", "auto-submitted")),
        (
            mail("In-Reply-To: <ours@toko-contoh.id>"),
            View(ref_by_message_id={"ours@toko-contoh.id": "KMWN22"}),
            ("follow", "KMWN22"),
        ),
        (
            mail("References: <a@x> <b@x>"),
            View(ref_by_message_id={"a@x": "OLDER2"}),
            ("follow", "OLDER2"),
        ),
        (
            mail(subject="Re: Pesanan [#KMWN22]"),
            View(existing_refs={"KMWN22"}),
            ("follow", "KMWN22"),
        ),
        # A reference nobody issued is just text: a new ticket.
        (mail(subject="Re: Pesanan [#ZZZ999]"), View(), ("ack", "acknowledgement")),
        (mail(), View(recent_replies={"budi@example.com": 3}), ("suppress", "reply-cap")),
        (mail(), View(recent_replies={"budi@example.com": 2}), ("ack", "acknowledgement")),
    ],
)
def test_decide(raw: bytes, view: View, expected: tuple[str, str]) -> None:
    decision = run(raw, view)
    kind, detail = expected
    if kind == "suppress":
        assert isinstance(decision, Suppress) and decision.rule == detail
    elif kind == "follow":
        assert decision == FollowUp(detail)
    else:
        assert isinstance(decision, Acknowledge) and decision.template == detail


def test_reply_goes_to_a_single_reply_to() -> None:
    decision = run(mail("Reply-To: orders@example.com"))
    assert isinstance(decision, Acknowledge) and decision.target == "orders@example.com"


def test_closed_means_out_of_hours_once_per_closed_period() -> None:
    first = run(mail(), moment=CLOSED)
    assert isinstance(first, Acknowledge) and first.template == "out_of_hours"
    view = View()
    view.opened(first, CLOSED, ["m1@example.com"])
    again = run(mail(subject="Another question"), view, CLOSED)
    assert isinstance(again, Record) and "already told" in again.reason
    # The next closed period is another matter.
    later = run(mail(subject="Next night"), view, Moment(False, None, "2026-11-24T08:00"))
    assert isinstance(later, Acknowledge) and later.template == "out_of_hours"


def test_rules_pick_canned_answers_and_record_only() -> None:
    policy = Policy("support-mail", GUARD, 3, RULES)
    canned = run(mail(subject="Harga grosir?"), policy=policy)
    assert isinstance(canned, Acknowledge) and (canned.template, canned.rule) == (
        "prices",
        "prices",
    )
    # A canned answer is sent whatever the hours.
    closed = run(mail(subject="Harga grosir?"), moment=CLOSED, policy=policy)
    assert isinstance(closed, Acknowledge) and closed.template == "prices"
    quiet = run(mail(sender="staff@cabang.toko-contoh.id"), policy=policy)
    assert isinstance(quiet, Record) and quiet.rule == "internal"


def test_a_new_reference_never_repeats_one_in_use() -> None:
    decision = run(mail(), View(existing_refs={"AAA222"}))
    assert isinstance(decision, Acknowledge) and decision.ref == "BBB333"


def test_the_view_follows_the_batch_so_a_follow_up_in_the_same_batch_joins() -> None:
    view = View()
    first = run(mail("Message-ID: <first@example.com>"), view)
    assert isinstance(first, Acknowledge)
    view.opened(first, Moment(True), ["first@example.com"])
    second = run(mail("Message-ID: <second@example.com>", "In-Reply-To: <first@example.com>"), view)
    assert second == FollowUp("AAA222")
    assert view.recent_replies == {"budi@example.com": 1}


def test_lookup_keys_collects_what_a_batch_needs() -> None:
    mails = [
        parse_message(mail("In-Reply-To: <p@x>", subject="Re: x [#ABC234]")),
        parse_message(mail("Reply-To: o@example.com")),
    ]
    keys = lookup_keys(mails, ())
    assert (keys.message_ids, keys.refs, keys.targets) == (
        {"p@x"},
        {"ABC234"},
        {"budi@example.com", "o@example.com"},
    )
