"""Reading IMAP responses as aioimaplib returns them: SELECT codes and FETCH records."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
_FETCH_START = re.compile(rb"^\d+ FETCH \(")
_UID = re.compile(rb"UID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_MESSAGE_ID = re.compile(r"<?\s*([^<>\s]+)\s*>?")


@dataclass(frozen=True)
class Fetched:
    uid: int
    internaldate: datetime | None
    raw: bytes


def select_codes(lines: Sequence[bytes | bytearray]) -> tuple[int | None, int | None]:
    """(UIDVALIDITY, UIDNEXT) from a SELECT response (RFC 3501 section 7.1)."""
    validity = uidnext = None
    for line in lines:
        if m := _UIDVALIDITY.search(line):
            validity = int(m.group(1))
        if m := _UIDNEXT.search(line):
            uidnext = int(m.group(1))
    return validity, uidnext


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
            body = bytes(item)  # the literal arrives as a bytearray in aioimaplib 2.x
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


def _internaldate(value: str) -> datetime | None:
    try:
        return datetime.strptime(value.strip(), "%d-%b-%Y %H:%M:%S %z")
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
