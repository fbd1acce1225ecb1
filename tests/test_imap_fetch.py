"""Reading aioimaplib's responses and the server's refusals, table-driven."""

from __future__ import annotations

import pytest

from responder.channels.imap import _code
from responder.channels.imap_fetch import external_id, fetch_records, search_uids, uid_ranges


@pytest.mark.parametrize(
    "text, code",
    [
        ("[AUTHENTICATIONFAILED] Authentication failed.", "AUTHENTICATIONFAILED"),
        ("[UNAVAILABLE] Temporary authentication failure.", "UNAVAILABLE"),
        ("[NONEXISTENT] Mailbox doesn't exist: Lost", "NONEXISTENT"),
        ("Login failed.", ""),
    ],
)
def test_response_codes_decide_permanent_or_passing(text: str, code: str) -> None:
    assert _code(text) == code


def test_search_lines_as_aioimaplib_gives_them() -> None:
    assert search_uids([b"3 7 5", b"Search completed (0.001 + 0.000 secs)."]) == [3, 5, 7]
    assert search_uids([b"SEARCH 4", b"done"]) == [4]
    assert search_uids([b"Search completed."]) == []


def test_fetch_records_pair_uids_with_literals_in_either_order() -> None:
    lines = [
        b'1 FETCH (UID 10 INTERNALDATE "22-Nov-2026 14:00:00 +0700" BODY[] {3}',
        bytearray(b"abc"),
        b")",
        b"2 FETCH (BODY[] {3}",
        bytearray(b"def"),
        b" UID 11)",
        b"Fetch completed.",
    ]
    records = fetch_records(lines)
    assert [(r.uid, r.raw) for r in records] == [(10, b"abc"), (11, b"def")]
    assert records[0].internaldate is not None and records[0].internaldate.hour == 14


def test_uid_ranges_are_compact() -> None:
    assert uid_ranges([1, 2, 3, 7, 9, 10]) == "1:3,7,9:10"


def test_external_id_is_the_message_id_or_a_digest() -> None:
    assert external_id(b"Message-ID: <a@b>\r\n\r\nx") == "a@b"
    assert external_id(b"Subject: none\r\n\r\nx").startswith("sha256:")
    assert external_id(b"Subject: none\r\n\r\nx") == external_id(b"Subject: none\r\n\r\nx")
