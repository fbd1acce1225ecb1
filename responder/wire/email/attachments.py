"""A canned answer's files in a reply (issue 18): multipart/mixed parts whose bodies are filled
in when the reply is sent, so a queued reply never holds a file's bytes."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from urllib.parse import quote, unquote

from responder.core.canned import MB
from responder.core.channel import FileRef

# The largest canned file sent by mail: many providers refuse messages over 10-25 MB, and
# base64 grows a file by a third.
EMAIL_FILE = 10 * MB
# Where a file's bytes go. A NUL never reaches the stored message otherwise: the text parts
# are quoted-printable (=00) and headers are sanitised, so no customer text can forge one.
_SLOT = re.compile(rb"\x00file:([!-~]+)\x00")
_TOKEN = re.compile(r"[A-Za-z0-9!#$&+.^_`{}~-]+")  # RFC 2045 token characters (no tspecials)
_CHUNK = 60  # characters of an encoded parameter per line (RFC 2231 section 3)


def part(boundary: str, file: FileRef) -> str:
    """An attachment part (RFC 2183) named by RFC 2231 where the name is not plain ASCII."""
    return (
        f"--{boundary}\r\n"
        f"Content-Type: {file.mime};{_param('name', file.name)}\r\n"
        f"Content-Disposition: attachment;{_param('filename', file.name)}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"\x00file:{quote(file.ref, safe='')}\x00\r\n"
    )


def _param(key: str, value: str) -> str:
    """` key="value"` as a quoted-string, or RFC 2231's `key*0*=utf-8''...` continuations
    for a name that is not printable ASCII or would make a line too long."""
    if value.isascii() and value.isprintable() and len(value) <= _CHUNK:
        if _TOKEN.fullmatch(value):
            return f" {key}={value}"
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f' {key}="{escaped}"'
    encoded = "utf-8''" + quote(value, safe="")
    chunks, at = [], 0
    while at < len(encoded):
        end = min(at + _CHUNK, len(encoded))
        # Never split a %XX escape between two lines.
        pct = encoded.rfind("%", max(end - 2, at), end)
        if pct != -1 and end < len(encoded):
            end = pct
        chunks.append(encoded[at:end])
        at = end
    return "".join(f"\r\n {key}*{n}*={chunk};" for n, chunk in enumerate(chunks)).rstrip(";")


def wanted(message: bytes) -> list[str]:
    """The refs of the files a stored reply still needs, in order."""
    return [unquote(m.group(1).decode("ascii")) for m in _SLOT.finditer(message)]


def filled(message: bytes, files: Mapping[str, bytes]) -> bytes:
    """The message with each file's bytes in its part, base64 in lines of 76 (RFC 2045
    section 6.8)."""

    def body(match: re.Match[bytes]) -> bytes:
        content = files[unquote(match.group(1).decode("ascii"))]
        return base64.encodebytes(content).replace(b"\n", b"\r\n").rstrip(b"\r\n")

    return _SLOT.sub(body, message)
