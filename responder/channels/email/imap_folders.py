"""IMAP folder names: as sent on the wire (quoted, modified UTF-7), as LIST shows them, the
Sent folder `sent_folder: auto` finds, and the folder meant when a watched one is missing."""

from __future__ import annotations

import base64
import difflib
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from responder.channels.diagnose import Diagnosed, Diagnosis, Endpoint
from responder.channels.email.imap_client import response_text
from responder.errors import TransientError

if TYPE_CHECKING:
    import aioimaplib

# `sent_folder: auto` on a server that marks no folder \Sent: the names mail programs give
# it, tried in this order after the provider's own (config_presets), the first that exists.
SENT_NAMES = ("Sent", "Sent Items", "Sent Messages", "INBOX.Sent", "Terkirim")
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


async def list_folders(
    client: aioimaplib.IMAP4, call: Callable[[Awaitable[Any]], Awaitable[Any]]
) -> list[Mailbox]:
    """Every folder, with its special-use attributes. A server need not show those to a plain
    LIST (RFC 6154 section 2; Gmail, Outlook and Dovecot do), so where it offers SPECIAL-USE
    and LIST-EXTENDED they are asked for with RETURN (SPECIAL-USE) (RFC 6154 section 5)."""
    pattern = '"*"'
    if client.has_capability("SPECIAL-USE") and client.has_capability("LIST-EXTENDED"):
        pattern += " RETURN (SPECIAL-USE)"
    response = await call(client.list('""', pattern))
    if response.result != "OK":
        raise TransientError(f"LIST of the folders failed: {response_text(response.lines, 200)}")
    return parse_list(response.lines)


def find_sent(boxes: Sequence[Mailbox], first: str | None = None) -> tuple[str, bool] | None:
    """Where `sent_folder: auto` points, and whether the server marks it \\Sent: the folder
    it marks (RFC 6154), else the first of `first` and SENT_NAMES that exists."""
    usable = [b for b in boxes if not {"\\noselect", "\\nonexistent"} & b.attributes]
    for box in usable:
        if "\\sent" in box.attributes:
            return box.name, True
    names = {box.name for box in usable}
    found = [name for name in _sent_names(first) if name in names]
    return (found[0], False) if found else None


def sent_not_found(at: Endpoint, boxes: Sequence[Mailbox], first: str | None) -> Diagnosed:
    """`sent_folder: auto` found nothing: what was looked for, and the names that look like
    a Sent folder in the admin's language."""
    tried = _sent_names(first)
    names = ", ".join(f'"{name}"' for name in tried[:-1]) + f' or "{tried[-1]}"'
    problem = (
        f"found no Sent folder in {at.account or at.channel} on {at.host}: the server marks "
        f"no folder as Sent, and none is named {names}"
    )
    key = "imap.sent_folder"
    _, similar = meant("", key, boxes)
    if similar:
        shown = " or ".join(f'"{name}"' for name in similar)
        remedy = f"set {key} to the exact name of the folder staff's sent mail is in: {shown}"
    else:
        remedy = (
            "send one mail from your mail program (most make their Sent folder then), or set "
            f"{key} to the exact name of the folder it keeps sent mail in"
        )
    return Diagnosed(Diagnosis(problem, remedy, key, True))


def _sent_names(first: str | None) -> list[str]:
    return list(dict.fromkeys((first, *SENT_NAMES) if first else SENT_NAMES))


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
