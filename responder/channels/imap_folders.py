"""IMAP folder names: as sent on the wire (quoted, modified UTF-7), as LIST shows them, and
the folder the admin most likely meant when a watched one is missing."""

from __future__ import annotations

import base64
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

# Sent folders' names in the languages our shops' mail programs use, for servers without
# RFC 6154 special-use attributes.
SENT_WORDS = re.compile(
    r"sent|terkirim|gesendet|envoy|enviad|inviat|verzonden|skickat|wys[lł]ane", re.IGNORECASE
)
# RFC 3501 7.2.2: mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil)
# SP mailbox; aioimaplib hands the line over without its "* LIST " prefix.
_LIST = re.compile(r'\((?P<attrs>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)', re.IGNORECASE)
_LITERAL = re.compile(r"\{(\d+)\+?\}")
_SHIFTED = re.compile(r"&([A-Za-z0-9+,]*)-")


@dataclass(frozen=True)
class Mailbox:
    """One folder as LIST shows it: its name, decoded, and its attributes, lowercased."""

    name: str
    attributes: frozenset[str]


def imap_utf7(name: str) -> str:
    """A mailbox name in IMAP's modified UTF-7 (RFC 3501 section 5.1.3)."""
    out: list[str] = []
    shifted: list[str] = []

    def flush() -> None:
        if shifted:
            raw = base64.b64encode("".join(shifted).encode("utf-16-be")).decode()
            out.append("&" + raw.rstrip("=").replace("/", ",") + "-")
            shifted.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            shifted.append(char)
    flush()
    return "".join(out)


def wire(name: str) -> str:
    """A folder name as a quoted IMAP string in modified UTF-7 (RFC 3501 5.1.3, 9): IMAP
    libraries send mailbox arguments verbatim, so spaces and quotes are ours to escape."""
    encoded = imap_utf7(name).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{encoded}"'


def _decode(name: str) -> str:
    def shifted(match: re.Match[str]) -> str:
        text = match.group(1)
        if not text:
            return "&"
        raw = base64.b64decode(text.replace(",", "/") + "=" * (-len(text) % 4))
        return raw.decode("utf-16-be", "replace")

    return _SHIFTED.sub(shifted, name)


def parse_list(lines: Sequence[object]) -> list[Mailbox]:
    """The folders in a LIST response's untagged lines (quoted, atom or literal names)."""
    texts = [bytes(x).decode("utf-8", "replace") for x in lines if isinstance(x, bytes | bytearray)]
    boxes = []
    for index, text in enumerate(texts):
        match = _LIST.fullmatch(text.strip())
        if match is None:
            continue
        name = match.group("name").strip()
        if _LITERAL.fullmatch(name) and index + 1 < len(texts):
            name = texts[index + 1]
        elif name.startswith('"') and name.endswith('"') and len(name) >= 2:
            name = re.sub(r"\\(.)", r"\1", name[1:-1])
        attributes = frozenset(a.lower() for a in match.group("attrs").split())
        boxes.append(Mailbox(_decode(name), attributes))
    return boxes


def meant(folder: str, key: str, boxes: Sequence[Mailbox]) -> tuple[str | None, list[str]]:
    """For a folder that does not exist: the folder the server marks as Sent (RFC 6154) when
    `key` is the sent folder's, and the existing names that look like `folder`."""
    names = [box.name for box in boxes if "\\noselect" not in box.attributes]
    if key.endswith("sent_folder"):
        marked = [box.name for box in boxes if "\\sent" in box.attributes]
        if marked:
            return marked[0], []
        return None, [name for name in names if SENT_WORDS.search(name)][:3]
    # The same last part in another hierarchy (cPanel keeps folders under "INBOX."), then
    # names that differ by a letter or by case.
    leaf = re.split(r"[/.]", folder)[-1].lower()
    similar = [name for name in names if re.split(r"[/.]", name)[-1].lower() == leaf]
    lowered = {name.lower(): name for name in names}
    close = difflib.get_close_matches(folder.lower(), list(lowered), n=3, cutoff=0.6)
    similar += [lowered[name] for name in close if lowered[name] not in similar]
    return None, similar[:3]
