"""Reading aioimaplib's responses and the server's refusals, table-driven."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from responder.channels.email.imap_connection import passing_refusal
from responder.channels.email.imap_fetch import (
    external_id,
    fetch_records,
    search_uids,
    size_records,
    uid_ranges,
)
from responder.common.membudget import MailBytes, byte_chunks
from responder.config import ImapConfig


@pytest.mark.parametrize(
    "text, passing",
    [
        ("[AUTHENTICATIONFAILED] Authentication failed.", False),
        ("[UNAVAILABLE] Temporary authentication failure.", True),
        ("[INUSE] Mailbox is locked by another session.", True),
        ("[LIMIT] Too many connections.", True),
        ("Login failed.", False),  # Microsoft 365's answer to a wrong password
    ],
)
def test_a_refused_sign_in_is_tried_again_only_when_its_code_says_it_will_pass(
    text: str, passing: bool
) -> None:
    assert passing_refusal(text) is passing


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


# -- chunks bounded by bytes as well as count (issue 13 item 5) ------------------------------

MB = 1024 * 1024


@pytest.mark.parametrize(
    "sizes, budget, count, chunks",
    [
        ([], 8, 100, []),
        ([3, 3, 2], 8, 100, [[1, 2, 3]]),  # exactly the budget: one chunk
        ([3, 3, 3], 8, 100, [[1, 2], [3]]),
        ([20, 1, 1], 8, 100, [[1], [2, 3]]),  # bigger than the budget: alone, first
        ([1, 20, 1], 8, 100, [[1], [2], [3]]),  # ...in the middle
        ([1, 1, 20], 8, 100, [[1, 2], [3]]),  # ...last
        ([9, 9], 8, 100, [[1], [2]]),  # never an empty chunk, never skipped
        ([1, 1, 1, 1, 1], 100, 2, [[1, 2], [3, 4], [5]]),  # the count still bounds
        ([0, 0, 0], 8, 2, [[1, 2], [3]]),  # sizes unknown (0): by count
    ],
)
def test_byte_chunks_keep_order_and_both_bounds(
    sizes: list[int], budget: int, count: int, chunks: list[list[int]]
) -> None:
    pairs = [(n, size) for n, size in enumerate(sizes, start=1)]
    assert byte_chunks(pairs, budget, count) == chunks


def test_ten_20mb_mails_are_fetched_one_at_a_time_and_small_ones_together() -> None:
    big = [(uid, 20 * MB) for uid in range(1, 11)]
    assert byte_chunks(big, 8 * MB, 100) == [[uid] for uid in range(1, 11)]
    small = [(uid, 20 * 1024) for uid in range(1, 1001)]
    assert [len(c) for c in byte_chunks(small, 8 * MB, 100)] == [100] * 10
    mixed = [(1, 100), (2, 100), (3, 7 * MB), (4, 2 * MB), (5, 100)]
    assert byte_chunks(mixed, 8 * MB, 100) == [[1, 2, 3], [4, 5]]


def test_a_burst_is_fetched_in_growing_chunks() -> None:
    small = [(uid, 1024) for uid in range(1, 501)]
    chunks = byte_chunks(small, 8 * MB, 100, first=10)
    assert [len(c) for c in chunks] == [10, 20, 40, 80, 100, 100, 100, 50]
    assert [uid for c in chunks for uid in c] == list(range(1, 501))
    # Bytes still bound every chunk, the first ones too.
    big = [(1, 3 * MB), (2, 3 * MB), (3, 3 * MB), (4, 10)]
    assert byte_chunks(big, 8 * MB, 100, first=10) == [[1, 2], [3, 4]]


def test_size_records_read_rfc822_size_and_internaldate() -> None:
    lines = [
        b'1 FETCH (UID 10 RFC822.SIZE 2048 INTERNALDATE "22-Nov-2026 14:00:00 +0700")',
        b'2 FETCH (INTERNALDATE "22-Nov-2026 14:05:00 +0700" RFC822.SIZE 20971520 UID 11)',
        b"3 FETCH (FLAGS (\\Seen))",  # an unsolicited flag update is no size record
        b"4 FETCH (UID 13 RFC822.SIZE 7)",
        b"Fetch completed.",
    ]
    records = size_records(lines)
    assert [(r.uid, r.size) for r in records] == [(10, 2048), (11, 20971520), (13, 7)]
    assert records[1].internaldate is not None and records[1].internaldate.minute == 5
    assert records[2].internaldate is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("22-Nov-2026 14:05:00 +0700", "2026-11-22T14:05:00+07:00"),
        (" 3-Dec-2026 07:15:47 +0000", "2026-12-03T07:15:47+00:00"),  # a space-padded day
        ("17-jul-1996 02:44:25 -0730", "1996-07-17T02:44:25-07:30"),  # RFC 3501's example
        ("31-Feb-2026 00:00:00 +0000", None),  # no such day: the receipt time is used instead
        ("22-Nov-2026 14:05 +0700", None),
        ("Sat, 22 Nov 2026 14:05:00 +0700", None),
    ],
)
def test_internaldate_is_read_as_rfc_3501_writes_it(value: str, expected: str | None) -> None:
    line = b'1 FETCH (UID 10 RFC822.SIZE 7 INTERNALDATE "%s")' % value.encode()
    [record] = size_records([line])
    found = record.internaldate.isoformat() if record.internaldate else None
    assert found == expected


def test_fetch_records_let_go_of_each_literal_once_copied() -> None:
    literal = bytearray(b"Subject: big\r\n\r\n" + b"x" * 1000)
    lines = [b"1 FETCH (UID 10 BODY[] {1016}", literal, b")", b"Fetch completed."]
    [record] = fetch_records(lines)
    assert record.raw.startswith(b"Subject: big") and len(record.raw) == 1016
    assert literal == bytearray()  # not held twice while the rest of the chunk is converted


@pytest.mark.parametrize(
    "value, parsed",
    [("8MB", 8 * MB), ("512kb", 512 * 1024), ("2 MB", 2 * MB), (100_000, 100_000), ("1G", 1024**3)],
)
def test_fetch_bytes_takes_sizes(value: object, parsed: int) -> None:
    assert _imap(fetch_bytes=value).fetch_bytes == parsed


@pytest.mark.parametrize("value", ["8 megs", "-1MB", True, 1.5, "1KB"])
def test_fetch_bytes_refuses_what_is_no_size_or_too_small(value: object) -> None:
    with pytest.raises(ValidationError, match="fetch_bytes"):
        _imap(fetch_bytes=value)


def test_fetch_bytes_defaults_to_8mb() -> None:
    assert _imap().fetch_bytes == 8 * MB


def _imap(**extra: object) -> ImapConfig:
    return ImapConfig.model_validate(
        {"host": "127.0.0.1", "port": 1143, "username": "u", "password_env": "HOME", **extra}
    )


# -- the process's budget of mail bytes in memory --------------------------------------------


async def test_a_message_bigger_than_the_budget_waits_until_it_is_alone() -> None:
    budget, order = MailBytes(10 * MB), []
    small_in, big_waiting = asyncio.Event(), asyncio.Event()

    async def small() -> None:
        async with budget.hold(4 * MB):
            order.append("small in")
            small_in.set()
            await big_waiting.wait()
            await asyncio.sleep(0.01)
            order.append("small out")

    async def big() -> None:
        await small_in.wait()
        waiting = asyncio.ensure_future(_hold(budget, 30 * MB, order, "big"))
        await asyncio.sleep(0.01)
        big_waiting.set()
        await waiting

    await asyncio.gather(small(), big())
    assert order == ["small in", "small out", "big in", "big out"]


async def test_first_come_first_served_so_intake_cannot_starve_deciding() -> None:
    budget, order = MailBytes(10 * MB), []
    async with budget.hold(10 * MB):
        # Deciding waits for a 10 MB run; then intake asks for a small chunk, which would fit
        # beside nothing but must not overtake.
        decide = asyncio.ensure_future(_hold(budget, 10 * MB, order, "decide"))
        await asyncio.sleep(0)
        intake = asyncio.ensure_future(_hold(budget, 1 * MB, order, "intake"))
        await asyncio.sleep(0.01)
        assert order == []
    await asyncio.gather(decide, intake)
    assert order[:2] == ["decide in", "decide out"]


async def test_small_holders_share_the_budget() -> None:
    budget, inside = MailBytes(10 * MB), []

    async def hold() -> None:
        async with budget.hold(3 * MB):
            inside.append(1)
            await asyncio.sleep(0.02)
            assert len(inside) == 3  # all three at once

    await asyncio.gather(hold(), hold(), hold())


async def test_patience_runs_out_rather_than_stalling_the_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    budget = MailBytes(10 * MB, patience=0.05)
    # The second would wait forever: the holder is this very task.
    async with budget.hold(10 * MB), budget.hold(10 * MB):
        pass
    assert "over the memory budget" in caplog.text


async def test_a_cancelled_waiter_takes_nothing_with_it() -> None:
    budget, order = MailBytes(10 * MB), []
    async with budget.hold(10 * MB):
        waiting = asyncio.ensure_future(_hold(budget, 10 * MB, order, "cancelled"))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    await asyncio.wait_for(_hold(budget, 10 * MB, order, "next"), 1.0)
    assert order == ["next in", "next out"]


async def _hold(budget: MailBytes, nbytes: int, order: list[str], name: str) -> None:
    async with budget.hold(nbytes):
        order.append(f"{name} in")
        await asyncio.sleep(0.01)
        order.append(f"{name} out")
