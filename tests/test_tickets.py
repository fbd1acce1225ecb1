"""Ticket references and thread matching, table-driven."""

from __future__ import annotations

import pytest

from responder.core.tickets import (
    ALPHABET,
    base_subject,
    new_ref,
    refs_in_subject,
    reply_target,
    thread_message_ids,
)
from responder.wire.email.parse import parse_message


@pytest.mark.parametrize(
    "subject, expected",
    [
        ("Pesanan saya", "Pesanan saya"),
        ("Re: Pesanan saya", "Pesanan saya"),
        ("RE: re: Re[2]: Pesanan saya", "Pesanan saya"),
        ("Fwd: Re: Harga grosir", "Harga grosir"),
        ("Balas: Pesanan", "Pesanan"),
        ("AW: Frage", "Frage"),
        ("Re: Pesanan [#ABC234]", "Pesanan"),
        ("Regarding my order", "Regarding my order"),
        ("Re:", ""),
        ("", ""),
    ],
)
def test_base_subject_strips_prefixes_so_re_is_added_once(subject: str, expected: str) -> None:
    assert base_subject(subject) == expected


@pytest.mark.parametrize(
    "subject, refs",
    [
        ("Re: Pesanan [#ABC234]", ["ABC234"]),
        ("re: pesanan [#abc234]", ["ABC234"]),
        ("[#ABC234] and [#XYZ789]", ["ABC234", "XYZ789"]),
        ("#ABC234 without brackets", []),
        ("[#ABC1O0] has 1, O and 0, never in a reference", []),
        ("[#ABC2345] too long", []),
    ],
)
def test_refs_in_subject(subject: str, refs: list[str]) -> None:
    assert refs_in_subject(subject) == refs


def test_new_refs_are_short_unambiguous_and_varied() -> None:
    refs = {new_ref() for _ in range(2000)}
    assert len(refs) > 1990
    assert all(len(r) == 6 and set(r) <= set(ALPHABET) for r in refs)
    assert not set("01ILO") & set(ALPHABET)


def mail(headers: str) -> bytes:
    return (headers + "\r\nSubject: x\r\n\r\nbody\r\n").encode()


@pytest.mark.parametrize(
    "headers, target",
    [
        ("From: Budi <budi@example.com>", "budi@example.com"),
        ("From: budi@example.com\r\nReply-To: orders@example.com", "orders@example.com"),
        ("From: budi@example.com\r\nReply-To: a@example.com, b@example.com", "budi@example.com"),
        ("From: budi@example.com\r\nReply-To: not an address", "budi@example.com"),
        ("From: BUDI@Example.COM", "budi@example.com"),
    ],
)
def test_reply_goes_to_one_usable_reply_to_else_from(headers: str, target: str) -> None:
    assert reply_target(parse_message(mail(headers))) == target


def test_thread_ids_nearest_parent_first() -> None:
    parsed = parse_message(
        mail("From: a@x\r\nIn-Reply-To: <p@x>\r\nReferences: <root@x> <mid@x> <p@x>")
    )
    assert thread_message_ids(parsed) == ["p@x", "mid@x", "root@x"]
