"""Reading IMAP responses as aioimaplib returns them: SELECT codes and FETCH records."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.parser import BytesHeaderParser
from email.policy import compat32

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
_HIGHESTMODSEQ = re.compile(rb"\[HIGHESTMODSEQ (\d+)\]")
_SEARCH_MODSEQ = re.compile(rb"\(MODSEQ (\d+)\)")
_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")
_MODSEQ = re.compile(rb"MODSEQ \((\d+)\)")
_FETCH_START = re.compile(rb"^\d+ FETCH \(")
_UID = re.compile(rb"UID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_MESSAGE_ID = re.compile(r"<?\s*([^<>\s]+)\s*>?")
# RFC 3501 date-time: the day may be space-padded, the month is in English, any case.
_DATE_TIME = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


@dataclass(frozen=True)
class Fetched:
    uid: int
    internaldate: datetime | None
    raw: bytes


@dataclass(frozen=True)
class Sized:
    """A message seen through its size and arrival time only, before its body is fetched."""

    uid: int
    size: int
    internaldate: datetime | None


@dataclass(frozen=True)
class Headed:
    """A message seen through its flags and Message-ID header only."""

    uid: int
    flags: frozenset[str]
    modseq: int | None
    message_id: str | None  # as in the header, angle brackets included


@dataclass(frozen=True)
class Selected:
    validity: int | None
    uidnext: int | None
    highestmodseq: int | None  # RFC 7162 3.1.2.1; absent without CONDSTORE or on NOMODSEQ


def select_codes(lines: Sequence[bytes | bytearray]) -> Selected:
    """UIDVALIDITY, UIDNEXT (RFC 3501 section 7.1) and HIGHESTMODSEQ from a SELECT response."""
    found: dict[str, int] = {}
    for line in lines:
        for name, pattern in (
            ("validity", _UIDVALIDITY),
            ("uidnext", _UIDNEXT),
            ("highestmodseq", _HIGHESTMODSEQ),
        ):
            if m := pattern.search(line):
                found[name] = int(m.group(1))
    return Selected(found.get("validity"), found.get("uidnext"), found.get("highestmodseq"))


def search_modseq(lines: Sequence[bytes | bytearray]) -> int | None:
    """The highest mod-sequence a SEARCH with a MODSEQ criterion reports (RFC 7162 3.1.5)."""
    for line in lines[:-1]:
        if m := _SEARCH_MODSEQ.search(line):
            return int(m.group(1))
    return None


def search_uids(lines: Sequence[bytes | bytearray]) -> list[int]:
    """UIDs from a SEARCH response; aioimaplib drops the "SEARCH" word of the untagged line
    and appends the tagged completion text last."""
    uids: list[int] = []
    for line in lines[:-1]:
        tokens = line.split()
        if tokens and tokens[0] == b"SEARCH":
            tokens = tokens[1:]
        uids.extend(int(tok) for tok in tokens if tok.isdigit())
    return sorted(set(uids))


def fetch_records(lines: Sequence[bytes | bytearray]) -> list[Fetched]:
    """Pair each `n FETCH (...)` line with its literal; UID may come before or after the body."""
    records: list[Fetched] = []
    uid: int | None = None
    date: datetime | None = None
    body: bytes | None = None

    def flush() -> None:
        if uid is not None and body is not None:
            records.append(Fetched(uid, date, body))

    for item in lines:
        if isinstance(item, bytearray):
            # The literal arrives as a bytearray in aioimaplib 2.x. Emptied once copied, so a
            # chunk of big messages is never held twice over while the rest is converted.
            body = bytes(item)
            item.clear()
            continue
        if _FETCH_START.match(item):
            flush()
            uid, date, body = None, None, None
        if m := _UID.search(item):
            uid = int(m.group(1))
        if m := _INTERNALDATE.search(item):
            date = _internaldate(m.group(1).decode("ascii", "replace"))
    flush()
    return records


def size_records(lines: Sequence[bytes | bytearray]) -> list[Sized]:
    """Records of `UID FETCH (UID RFC822.SIZE INTERNALDATE)` (RFC 3501 6.4.5 and 7.4.2: the
    size in octets and the date the server received the message)."""
    records: list[Sized] = []
    for line in lines:
        if isinstance(line, bytearray) or not _FETCH_START.match(line):
            continue
        uid, size = _UID.search(line), _SIZE.search(line)
        if uid is not None and size is not None:
            date = _INTERNALDATE.search(line)
            when = _internaldate(date.group(1).decode("ascii", "replace")) if date else None
            records.append(Sized(int(uid.group(1)), int(size.group(1)), when))
    return records


def header_records(lines: Sequence[bytes | bytearray]) -> list[Headed]:
    """Records of `UID FETCH (UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])`; the header
    literal may come before or after the other items."""
    records: list[Headed] = []
    current: dict[str, object] = {}

    def flush() -> None:
        uid = current.get("uid")
        if isinstance(uid, int):
            flags = current.get("flags", frozenset())
            modseq = current.get("modseq")
            header = current.get("header")
            records.append(
                Headed(
                    uid,
                    flags if isinstance(flags, frozenset) else frozenset(),
                    modseq if isinstance(modseq, int) else None,
                    message_id_header(header) if isinstance(header, bytes) else None,
                )
            )

    for item in lines:
        if isinstance(item, bytearray):
            current["header"] = bytes(item)
            continue
        if _FETCH_START.match(item):
            flush()
            current = {}
        if m := _UID.search(item):
            current["uid"] = int(m.group(1))
        if m := _FLAGS.search(item):
            current["flags"] = frozenset(m.group(1).decode("ascii", "replace").split())
        if m := _MODSEQ.search(item):
            current["modseq"] = int(m.group(1))
    flush()
    return records


def message_id_header(header: bytes) -> str | None:
    """The Message-ID as `<id>` (RFC 5322 3.6.4), the form threading headers refer to."""
    ident = external_id(header)
    return None if ident.startswith("sha256:") else f"<{ident}>"


def _internaldate(value: str) -> datetime | None:
    """RFC 3501's date-time, "17-Jul-1996 02:44:25 -0700"; read by hand, as strptime took
    a tenth of the intake's time in a burst."""
    m = _DATE_TIME.fullmatch(value.strip())
    month = _MONTHS.get(m.group(2).lower()) if m else None
    if m is None or month is None:
        return None
    day, year, hour, minute, second, sign, zh, zm = (m.group(i) for i in (1, 3, 4, 5, 6, 7, 8, 9))
    offset = timedelta(hours=int(zh), minutes=int(zm)) * (-1 if sign == "-" else 1)
    try:
        return datetime(
            int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=timezone(offset)
        )
    except ValueError:
        return None


def external_id(raw: bytes) -> str:
    """The Message-ID, or a digest of the bytes when a sender left it out (RFC 5322 3.6.4)."""
    try:
        header = BytesHeaderParser(policy=compat32).parsebytes(raw[:65536]).get("Message-ID")
    except Exception:
        header = None
    if header:
        text = re.sub(r"[\x00-\x20\x7f]+", "", str(header))
        if m := _MESSAGE_ID.fullmatch(text):
            return m.group(1)[:380]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def uid_ranges(uids: Sequence[int]) -> str:
    """A compact sequence set such as 4:9,12 (RFC 3501 section 9, sequence-set)."""
    parts: list[str] = []
    start = prev = None
    for uid in sorted(uids):
        if start is None:
            start = prev = uid
        elif uid == (prev or 0) + 1:
            prev = uid
        else:
            parts.append(f"{start}:{prev}" if start != prev else str(start))
            start = prev = uid
    if start is not None:
        parts.append(f"{start}:{prev}" if start != prev else str(start))
    return ",".join(parts)
